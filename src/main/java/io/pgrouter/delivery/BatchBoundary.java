package io.pgrouter.delivery;

/**
 * A sink that buffers and makes its writes durable at the end of a source batch. The WAL source calls
 * {@link #flushDue()} after routing a Debezium batch and before it marks the batch's records processed, so the slot's
 * position never passes an event a sink holds only in memory.
 */
public interface BatchBoundary {

    /** Exchange property: the dispatcher's sequence number of the event (rising), for sinks that hold events longer. */
    String SEQUENCE = "pgrouter.sequence";

    /** The {@link #SEQUENCE} of the event the calling thread's source is routing now (0 on a thread that routes none). */
    static long routing() {
        return Routing.CURRENT.get()[0];
    }

    /** Set by the source for each event it routes, before the routes run. */
    static void routing(long sequence) {
        Routing.CURRENT.get()[0] = sequence;
    }

    /** Makes everything accepted so far durable; throws when it cannot (the batch is then delivered again). */
    void flush() throws Exception;

    /**
     * The end of a source batch, for a sink that may hold events across source batches (a linger): sends what is due
     * and returns the {@link #SEQUENCE} of the oldest event it still holds, or {@link Long#MAX_VALUE} when it holds
     * none. The WAL source marks records processed only below that sequence. By default: {@link #flush()} everything.
     */
    default long flushDue() throws Exception {
        flush();
        return Long.MAX_VALUE;
    }

    /** Holder of the per-thread sequence (an interface has no private fields). */
    final class Routing {
        private static final ThreadLocal<long[]> CURRENT = ThreadLocal.withInitial(() -> new long[1]);

        private Routing() {
        }
    }
}
