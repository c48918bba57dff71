package io.pgrouter.sink;

/** A sink endpoint the retry worker can deliver a waiting event to, found again by its key after a restart. */
public interface Redeliverable {

    /** Stable across restarts for the same sink configuration, and never a secret. */
    String sinkKey();

    /** One attempt: returns when delivered, throws (retryable or not) when not. */
    void redeliver(String eventJson) throws SinkDeliveryException, InterruptedException;

    /** The wait before attempt {@code attempts + 1}. */
    long nextDelayMs(int attempts);

    /** How long after its first failure an event may keep waiting before it goes to dead letters. */
    long retryBudgetMs();

    /** How many subjects the retry worker may re-send to this sink at once (each subject still one at a time, in order). */
    default int concurrency() {
        return 1;
    }
}
