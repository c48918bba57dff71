package io.pgrouter.delivery;

import org.apache.camel.Component;
import org.apache.camel.support.DefaultEndpoint;

/**
 * What every sink endpoint on the delivery contract shares: the retry options users set on its Kamelet
 * ({@code retries}, {@code backoffMs}, {@code maxBackoffMs}, {@code retryBudgetMs}) and the {@link DurableDelivery.Policy}
 * made of them, which both the in-line path and the retry worker use. Defaults: 3 retries from 500 ms, at most an hour
 * apart, for up to 25 hours; a sink whose destination is back sooner sets its own in its constructor.
 */
public abstract class RetryingSinkEndpoint extends DefaultEndpoint implements Redeliverable {

    private int retries = 3;
    private long backoffMs = 500;
    private long maxBackoffMs = 60L * 60 * 1000;
    private long retryBudgetMs = 25L * 60 * 60 * 1000;
    private volatile SinkDestinations.Destination destination;

    protected RetryingSinkEndpoint(String uri, Component component) {
        super(uri, component);
    }

    /** In-line retries, then the retry store for up to retryBudgetMs; a Retry-After is honoured up to maxBackoffMs. */
    @Override
    public DurableDelivery.Policy policy() {
        return new DurableDelivery.Policy(retries, backoffMs, maxBackoffMs, maxBackoffMs, retryBudgetMs);
    }

    /**
     * The calling source's batch end at this endpoint ({@link BatchBoundary#flush()}): sends what it holds for that
     * source and returns once each event is delivered, dead-lettered or in the retry store; when that cannot be, keeps
     * the events and throws. By default an endpoint holds nothing.
     */
    protected void flushSource() throws Exception {
    }

    /** As {@link #flushSource()} for an endpoint that may hold events across source batches (see {@link BatchBoundary#flushDue()}). */
    protected long flushSourceDue() throws Exception {
        flushSource();
        return Long.MAX_VALUE;
    }

    void destination(SinkDestinations.Destination destination) {
        this.destination = destination;
    }

    @Override
    public boolean destinationDown() {
        SinkDestinations.Destination d = destination;
        return d != null && d.isDown();
    }

    public int getRetries() { return retries; }
    public void setRetries(int retries) { this.retries = retries; }
    public long getBackoffMs() { return backoffMs; }
    public void setBackoffMs(long backoffMs) { this.backoffMs = backoffMs; }
    public long getMaxBackoffMs() { return maxBackoffMs; }
    public void setMaxBackoffMs(long maxBackoffMs) { this.maxBackoffMs = maxBackoffMs; }
    public long getRetryBudgetMs() { return retryBudgetMs; }
    public void setRetryBudgetMs(long retryBudgetMs) { this.retryBudgetMs = retryBudgetMs; }
}
