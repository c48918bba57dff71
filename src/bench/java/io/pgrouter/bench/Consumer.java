package io.pgrouter.bench;

/** One thing being measured: the router (through the lake file) or a baseline reading PostgreSQL directly. */
interface Consumer extends AutoCloseable {

    /** A received event reduced to what the statistics need. {@code eventTimeMicros} is the line's "time", or -1. */
    record Seen(long txid, int n, long eventTimeMicros) {
    }

    String name();

    /** Starts it and returns once it is ready to receive events. */
    void start() throws Exception;

    Arrivals arrivals();

    /** Decodes a raw item recorded in {@link #arrivals()}. */
    Seen parse(Object item) throws Exception;

    /** The consumer's own process, or null when it runs inside the harness. */
    default Process process() {
        return null;
    }

    /** False once its process died. */
    default boolean alive() {
        return process() == null || process().isAlive();
    }

    /** CPU seconds used so far by the consumer's own process, or -1 when it runs inside the harness. */
    default double cpuSeconds() {
        return process() == null ? -1 : Procs.cpuSeconds(process().pid());
    }

    /** CPU seconds its JIT compiler threads used so far, or -1 (runs inside the harness, or no JIT: pg_recvlogical). */
    default double jitCpuSeconds() {
        return process() == null ? -1 : Procs.jitCpuSeconds(process().pid());
    }

    /** Peak resident set size in MiB of the consumer's own process, or -1. */
    default double peakRssMiB() {
        return process() == null ? -1 : Procs.statusMiB(process().pid(), "VmHWM");
    }

    /** Bytes of lake files per row written so far, or NaN for a consumer that writes no lake. */
    default double lakeBytesPerRow() {
        return Double.NaN;
    }

    /** Heap in use in MiB right now, or -1 when unknown. */
    default double heapUsedMiB() {
        return -1;
    }

    @Override
    void close();
}
