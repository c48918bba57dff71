package io.pgrouter.delivery;

/** A sink endpoint the retry worker can deliver a waiting event to, found again by its key after a restart. */
public interface Redeliverable {

    /** Stable across restarts for the same sink configuration, and never a secret. */
    String sinkKey();

    /**
     * The one shape of sink keys: {@code <sink>:<24 hex digits of SHA-256 of the configuration>}. The configuration
     * may hold secrets (an endpoint URI with a password): only its hash is ever stored.
     */
    static String sinkKey(String sink, String configuration) {
        try {
            byte[] digest = java.security.MessageDigest.getInstance("SHA-256").digest(configuration.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            return sink + ":" + java.util.HexFormat.of().formatHex(digest, 0, 12);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A key this sink's events were stored under before its key changed, or null: those events are re-sent through it too. */
    default String formerSinkKey() {
        return null;
    }

    /** One attempt: returns when delivered, throws (retryable or not) when not. */
    void redeliver(String eventJson) throws SinkDeliveryException, InterruptedException;

    /**
     * How many waiting events one attempt may carry ({@link #redeliverAll}): more than 1 for a sink that sends in
     * batches (a Kafka round, a JMS transaction), so a backlog drains at the destination's batch pace, not one
     * acknowledged send (and its retry-store queries) per event.
     */
    default int redeliveryBatch() {
        return 1;
    }

    /**
     * One attempt for several waiting events, in order (several subjects, each subject's events in its order). Per
     * event, in the same order: null when it was delivered, else why not (retryable or not).
     */
    default java.util.List<SinkDeliveryException> redeliverAll(java.util.List<String> events) throws InterruptedException {
        java.util.List<SinkDeliveryException> outcomes = new java.util.ArrayList<>(events.size());
        for (String e : events) {
            try {
                redeliver(e);
                outcomes.add(null);
            } catch (SinkDeliveryException failed) {
                outcomes.add(failed);
            }
        }
        return outcomes;
    }

    /** The sink's retry schedule and budget: the same one in-line and from the retry store. */
    DurableDelivery.Policy policy();

    /** The wait before attempt {@code attempts + 1}. */
    default long nextDelayMs(int attempts) {
        return policy().nextDelayMs(attempts);
    }

    /** How long after its first failure an event may keep waiting before it goes to dead letters. */
    default long retryBudgetMs() {
        return policy().retryBudgetMs();
    }

    /** Whether the destination is known to be down: the retry worker then stops a round after a failed probe. */
    default boolean destinationDown() {
        return false;
    }

    /** How many subjects the retry worker may re-send to this sink at once (each subject still one at a time, in order). */
    default int concurrency() {
        return 1;
    }
}
