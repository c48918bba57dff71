package io.pgrouter.delivery;

/**
 * A sink: one class per kind of destination, made by {@link SinkComponent} for each configuration a route uses (one
 * {@link SinkConfig}) with the delivery contract already wired ({@link SinkContext#delivery()}). It knows how to talk
 * to its destination; the contract around it (retry options, the retry store and its worker, dead letters,
 * per-subject parking, the destination-down mode, what each source handed over kept apart) is done once, in
 * {@code delivery/}.
 *
 * <p>A sink that sends each event while it is routed implements {@link #accept} and {@link #redeliver}; a sink that
 * batches keeps what each source handed over in a {@link SourceBuffers} and sends it in {@link #flush}.
 */
public interface Sink extends AutoCloseable {

    /**
     * Takes one event from a route, on the routing source's thread: sends it (usually through
     * {@link DurableDelivery#deliver}), or keeps it for that source's {@link #flush}. Throwing dead-letters the event.
     */
    void accept(RoutedEvent event) throws Exception;

    /**
     * The calling source's batch end: what that source handed over is delivered, dead-lettered or in the retry store
     * when this returns; when that cannot be, the sink keeps those events and throws (the source's position stays
     * before them).
     *
     * @param everything false at a WAL batch end: a sink that lingers may keep events that are not due yet
     * @return the {@link BatchBoundary#SEQUENCE} of the oldest event still held, or {@link Long#MAX_VALUE}
     */
    default long flush(boolean everything) throws Exception {
        return Long.MAX_VALUE;
    }

    /**
     * Called every 50 ms off the sources' threads: a sink that lingers sends what is due even when no source batch ends
     * (a quiet database). Failures are kept for the owning source's next {@link #flush}.
     */
    default void sendLingering() {
    }

    /** One attempt for an event waiting in the retry store (by the retry worker): returns when delivered, throws when not. */
    void redeliver(String eventJson) throws SinkDeliveryException, InterruptedException;

    /**
     * How many waiting events the retry worker may hand to {@link #redeliverAll} at once; 1 (the default): it calls
     * {@link #redeliver} for each.
     */
    default int redeliveryBatch() {
        return 1;
    }

    /**
     * One attempt for several waiting events, in order (usually through {@link DurableDelivery#redeliverAll}). Per
     * event, in the same order: null when it was delivered, else why not. Only called when {@link #redeliveryBatch()}
     * is more than 1.
     */
    default java.util.List<SinkDeliveryException> redeliverAll(java.util.List<String> events) throws InterruptedException {
        throw new UnsupportedOperationException("redeliveryBatch() is 1");
    }

    /** Releases the sink's clients and connections; what it still holds for a source is dropped (that source sends it again). */
    @Override
    void close();
}
