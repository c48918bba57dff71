package io.pgrouter.sink;

/**
 * A sink that buffers and makes its writes durable at the end of a source batch. The WAL source calls
 * {@link #flush()} after routing a Debezium batch and before it marks the batch processed, so the slot's position
 * never passes an event a sink holds only in memory.
 */
public interface BatchBoundary {

    /** Makes everything accepted so far durable; throws when it cannot (the batch is then delivered again). */
    void flush() throws Exception;
}
