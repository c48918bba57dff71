package io.pgrouter.delivery;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * What a sink holds for each source, apart: the WAL and NOTIFY sources (and a replay) route on threads of their own
 * into the same sink endpoints, and a source's batch end ({@link BatchBoundary}) must make durable exactly what that
 * source handed over — never another source's events (whose failure it would swallow), and never leave its own behind.
 * A sink keeps its buffer in {@link #mine()} and flushes {@link #mine()} at the batch end; callers lock the buffer.
 * What a source that stopped (its thread ended) left is discarded: that source delivers those events again.
 */
public final class SourceBuffers<B> {

    private final Map<Thread, B> bySource = new ConcurrentHashMap<>();
    private final Supplier<B> empty;

    public SourceBuffers(Supplier<B> empty) {
        this.empty = empty;
    }

    /** The calling source's buffer, made on first use. */
    public B mine() {
        return bySource.computeIfAbsent(Thread.currentThread(), t -> empty.get());
    }

    /** The calling source's buffer, or null when it never used this sink. */
    public B mineIfAny() {
        return bySource.get(Thread.currentThread());
    }

    /** Every source's buffer (a linger timer, a shutdown). */
    public void forEach(Consumer<B> action) {
        bySource.values().forEach(action);
    }

    /** Drops the buffers of sources whose thread ended, handing each to {@code discard} first. */
    public void discardEnded(Consumer<B> discard) {
        bySource.entrySet().removeIf(e -> {
            if (e.getKey().isAlive()) return false;
            discard.accept(e.getValue());
            return true;
        });
    }

    /** Forgets every buffer (after {@link #forEach} closed them). */
    public void clear() {
        bySource.clear();
    }
}
