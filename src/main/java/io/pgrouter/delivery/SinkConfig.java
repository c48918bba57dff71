package io.pgrouter.delivery;

import org.apache.camel.CamelContext;

/**
 * A sink's configuration: one typed object per kind of sink, the single source of its options' defaults (the field
 * initialisers; {@code KameletDefaultsTest} checks that each Kamelet declares the same), their meaning (the Javadoc
 * and the Kamelet's descriptions) and their check ({@link #validate}). {@link SinkComponent} sets the options of an
 * endpoint URI on it as bean properties, then checks it, before any sink is made.
 *
 * <p>Every sink on the delivery contract has the retry options: {@code retries} in-line after the first attempt,
 * from {@code backoffMs} doubled per attempt up to {@code maxBackoffMs}, then the retry store for up to
 * {@code retryBudgetMs} after the first failure. Defaults: 3 retries from 500 ms, at most an hour apart, for up to
 * 25 hours; a sink whose destination is back sooner sets its own in its constructor.
 */
public abstract class SinkConfig {

    private int retries = 3;
    private long backoffMs = 500;
    private long maxBackoffMs = 60L * 60 * 1000;
    private long retryBudgetMs = 25L * 60 * 60 * 1000;
    private String endpointUri;
    private boolean retryOptionsSet;

    /** The sink's name in dead letters, retry keys and metrics: its Kamelet's name (e.g. {@code webhook-sink}). */
    public abstract String sink();

    /**
     * Checks the options (the retry options are checked before): throws an {@link IllegalArgumentException} whose
     * message names the sink, the option and the fix. A config that passes may precompute what its sink uses (parsed
     * templates, lists).
     */
    protected abstract void validate(CamelContext camel) throws Exception;

    /**
     * What identifies the destination in the sink's key ({@link #sinkKey()}): stable across restarts for the same
     * configuration. Only its hash is stored, so it may hold a secret; what it holds must never change for an existing
     * configuration, or events waiting in users' retry stores would no longer find their sink.
     */
    protected abstract String identity();

    /**
     * What {@link #identity()} was before it changed for this configuration, or null: events that wait in a retry
     * store under the former key are still re-sent through this sink.
     */
    protected String formerIdentity() {
        return null;
    }

    /** The destination as shown in logs, dead letters and errors: never a credential. */
    public abstract String where();

    /** The destination whose up/down state every endpoint sending there shares (readiness, metrics): by default {@link #where()}. */
    public String destination() {
        return where();
    }

    /** The endpoint URI's path ({@code pgdurable:<path>}): by default the Kamelet's own name, ignored. */
    public void path(String path) {
    }

    /** The key of the retry store: {@code <sink>:<hash of identity>}. */
    public final String sinkKey() {
        return Redeliverable.sinkKey(sink(), identity());
    }

    /** The key events of this configuration waited under before, or null (see {@link #formerIdentity()}). */
    public final String formerSinkKey() {
        String former = formerIdentity();
        return former == null ? null : Redeliverable.sinkKey(sink(), former);
    }

    /** In-line retries, then the retry store for up to retryBudgetMs; a Retry-After is honoured up to maxBackoffMs. */
    public DurableDelivery.Policy policy() {
        return new DurableDelivery.Policy(retries, backoffMs, maxBackoffMs, maxBackoffMs, retryBudgetMs);
    }

    /**
     * Whether the sink is on the retry contract (the retry options, the retry store, the destination-down mode). A sink
     * that is not (the data lake: a failed commit fails the source's batch, which comes again) gets no
     * {@link SinkContext#delivery()} and refuses the retry options.
     */
    public boolean retrying() {
        return true;
    }

    /** How many subjects the retry worker may re-send at once (each subject still in order). */
    public int concurrency() {
        return 1;
    }

    /** The retry options, then {@link #validate}. */
    final void check(String uri, CamelContext camel) throws Exception {
        this.endpointUri = uri;
        if (!retrying() && retryOptionsSet) {
            throw new IllegalArgumentException(sink() + " has no retries (a failure fails the source's batch, which is delivered again): "
                    + "remove retries, backoffMs, maxBackoffMs and retryBudgetMs");
        }
        positive("retries", retries, 0);
        positive("backoffMs", backoffMs, 1);
        positive("maxBackoffMs", maxBackoffMs, 1);
        positive("retryBudgetMs", retryBudgetMs, 0);
        validate(camel);
    }

    /** Throws when a number option is below its least value, naming it. */
    protected final void positive(String option, long value, long least) {
        if (value < least) throw new IllegalArgumentException(sink() + " " + option + " must be " + least + " or more, got " + value);
    }

    /** The endpoint URI this configuration was set from (set before {@link #validate}). */
    protected final String endpointUri() {
        return endpointUri;
    }

    protected static boolean blank(String s) {
        return s == null || s.isBlank();
    }

    public int getRetries() { return retries; }
    public void setRetries(int retries) { this.retries = retries; retryOptionsSet = true; }
    public long getBackoffMs() { return backoffMs; }
    public void setBackoffMs(long backoffMs) { this.backoffMs = backoffMs; retryOptionsSet = true; }
    public long getMaxBackoffMs() { return maxBackoffMs; }
    public void setMaxBackoffMs(long maxBackoffMs) { this.maxBackoffMs = maxBackoffMs; retryOptionsSet = true; }
    public long getRetryBudgetMs() { return retryBudgetMs; }
    public void setRetryBudgetMs(long retryBudgetMs) { this.retryBudgetMs = retryBudgetMs; retryOptionsSet = true; }
}
