package io.pgrouter.bench;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * What a consumer saw, and when: one entry per event, stamped with the harness' wall clock (epoch microseconds)
 * at the moment the bytes carrying the event were read. The recording thread does nothing but stamp and keep the
 * raw item; parsing happens after the phase, so it costs the measured consumer nothing.
 */
final class Arrivals {

    /** One received event: stamp in epoch microseconds and the raw item (a lake line, a payload, a decoded row). */
    record Arrival(long stampMicros, Object item) {
    }

    private final List<Arrival> items = new ArrayList<>(1 << 16);

    static long nowMicros() {
        Instant now = Instant.now();
        return now.getEpochSecond() * 1_000_000L + now.getNano() / 1_000;
    }

    synchronized void add(long stampMicros, Object item) {
        items.add(new Arrival(stampMicros, item));
        notifyAll();
    }

    synchronized int size() {
        return items.size();
    }

    /** Everything received since the last call, and starts afresh. */
    synchronized List<Arrival> drain() {
        List<Arrival> out = new ArrayList<>(items);
        items.clear();
        return out;
    }

    /**
     * Waits until at least {@code n} events arrived; false on timeout or when {@code alive} says the consumer
     * process died.
     */
    synchronized boolean awaitAtLeast(int n, long timeoutMs, BooleanSupplier alive) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        while (items.size() < n) {
            long left = deadline - System.nanoTime();
            if (left <= 0 || !alive.getAsBoolean()) return false;
            wait(Math.max(1, Math.min(TimeUnit.NANOSECONDS.toMillis(left), 200)));
        }
        return true;
    }
}
