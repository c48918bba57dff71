package io.pgrouter.source;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import jakarta.enterprise.inject.Any;
import jakarta.enterprise.inject.Instance;
import jakarta.inject.Singleton;

import org.jboss.logging.Logger;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.pgrouter.event.CanonicalEvent;
import io.pgrouter.event.CommitTimes;
import io.pgrouter.event.EventBody;
import io.pgrouter.event.Op;
import io.pgrouter.delivery.BatchBoundary;
import io.pgrouter.delivery.EventsOut;
import io.pgrouter.delivery.SinkDeliveryException;
import io.pgrouter.delivery.DeadLetterStore;

/**
 * Hands one event to every subscribed route, synchronously, and decides when the event is finished with:
 * delivered, or written to the dead-letter store. Both sources use it, so the guarantee is in one place.
 */
@Singleton
public class EventDispatcher {

    private static final Logger LOG = Logger.getLogger(EventDispatcher.class);

    private final DeadLetterStore deadLetters;
    private final MeterRegistry metrics;
    private final EventsOut out;
    // meters looked up once per tag combination, not once per event
    private final Map<String, Counter> counters = new ConcurrentHashMap<>();
    private final Map<String, Timer> timers = new ConcurrentHashMap<>();
    private final Map<String, Map<String, Map<Op, Counter>>> inCounters = new ConcurrentHashMap<>();

    private final List<BatchBoundary> batchingSinks;

    public EventDispatcher(DeadLetterStore deadLetters, MeterRegistry metrics, EventsOut out, @Any Instance<BatchBoundary> batchingSinks) {
        this.deadLetters = deadLetters;
        this.metrics = metrics;
        this.out = out;
        this.batchingSinks = batchingSinks.stream().toList();
    }

    /**
     * Routing happens in batches (a WAL batch, a NOTIFY, a replayed dead letter), each under the read lock; a change of
     * the route set takes the write lock, so it falls between two batches: every event is routed wholly by the routes
     * before the change or wholly by those after it.
     */
    private final java.util.concurrent.locks.ReentrantReadWriteLock routing = new java.util.concurrent.locks.ReentrantReadWriteLock(true);

    /** A source starts routing a batch (paired with {@link #leaveBatch()}). */
    public void enterBatch() {
        routing.readLock().lock();
    }

    public void leaveBatch() {
        routing.readLock().unlock();
    }

    /**
     * Runs {@code change} between two batches of every source, after the batching sinks made durable everything
     * they took (so no event routed by the old routes is still held in a sink when the routes change).
     */
    public <T> T betweenBatches(java.util.concurrent.Callable<T> change) throws Exception {
        routing.writeLock().lock();
        return flushThenUnlock(change);
    }

    // the route set's version (RoutesReloader): changed only between batches (under the write lock), read per event
    private volatile String routesVersion;

    /** The version every event dispatched from now on carries (call it between batches: {@link #betweenBatches}). */
    public void routesVersion(String version) {
        routesVersion = version;
    }

    /** {@link #betweenBatches(java.util.concurrent.Callable)}, waiting at most {@code timeoutMs} for the batch in progress. */
    public <T> T betweenBatches(java.util.concurrent.Callable<T> change, long timeoutMs) throws Exception {
        if (!routing.writeLock().tryLock(timeoutMs, java.util.concurrent.TimeUnit.MILLISECONDS)) {
            throw new java.util.concurrent.TimeoutException("a batch was still being routed after " + timeoutMs + " ms");
        }
        return flushThenUnlock(change);
    }

    /** With the write lock held: the sinks flush, then {@code change} runs; the lock is released either way. */
    private <T> T flushThenUnlock(java.util.concurrent.Callable<T> change) throws Exception {
        try {
            flushAll();
            return change.call();
        } finally {
            routing.writeLock().unlock();
        }
    }

    // numbers every event (of both sources) in dispatch order: sinks that linger report the oldest one they hold
    private final java.util.concurrent.atomic.AtomicLong sequence = new java.util.concurrent.atomic.AtomicLong();

    public long nextSequence() {
        return sequence.incrementAndGet();
    }

    /**
     * Ends a source batch: every batching sink makes durable what is due (all of it, but for sinks with a linger).
     * Throws if one cannot.
     *
     * @return the oldest event some sink still holds in memory, and which sink
     */
    public Held endOfBatch() throws Exception {
        long held = Long.MAX_VALUE;
        BatchBoundary by = null;
        for (BatchBoundary sink : batchingSinks) {
            long oldest = sink.flushDue();
            if (oldest < held) {
                held = oldest;
                by = sink;
            }
        }
        return new Held(held, by == null ? null : sinkName(by));
    }

    /**
     * What a batching sink still holds after a batch end: the sequence of its oldest event ({@link Long#MAX_VALUE} when
     * no sink holds one) and the sink's name ({@code datalake}, {@code webhook}, ...), or null.
     */
    public record Held(long sequence, String sink) {
    }

    /** A batching sink's name for an operator: its Camel component's name (CDI may hand over a subclass or proxy of it). */
    static String sinkName(BatchBoundary sink) {
        if (sink instanceof io.pgrouter.delivery.SinkComponent<?> component) return component.name();
        Class<?> type = sink.getClass();
        while (type.getSimpleName().contains("_") && type.getSuperclass() != null) type = type.getSuperclass();
        return type.getSimpleName().replaceFirst("Component$", "").toLowerCase(java.util.Locale.ROOT);
    }

    // the WAL route being delivered to now: what the WAL retention guard names when a batch takes long
    private volatile String walRoute;

    /** The route the WAL source's batch in progress is being delivered to, or the last one it was. */
    public String walRoute() {
        return walRoute;
    }

    /** Every batching sink makes everything it took durable, lingering or not (a replay, a shutdown). */
    public void flushAll() throws Exception {
        for (BatchBoundary sink : batchingSinks) sink.flush();
    }

    public boolean dispatch(String sourceKind, CanonicalEvent event, List<PgConsumer> consumers) throws Exception {
        return dispatch(sourceKind, event, consumers, nextSequence());
    }

    /**
     * @return true when some route took the event
     * @throws Exception when an event failed in a route and could not be written to the dead-letter store:
     *         the caller must not move its position past this event
     */
    public boolean dispatch(String sourceKind, CanonicalEvent event, List<PgConsumer> consumers, long sequence) throws Exception {
        String version = routesVersion;
        if (version != null) event = event.withRoutes(version);
        String table = event.table() == null ? "" : event.qualifiedTable();
        // looked up without building a key string per event
        inCounters.computeIfAbsent(sourceKind, k -> new ConcurrentHashMap<>()).computeIfAbsent(table, k -> new ConcurrentHashMap<>())
                .computeIfAbsent(event.op(), op -> Counter.builder("pgrouter.events.in").tag("source", sourceKind).tag("table", table)
                        .tag("op", op.wire()).register(metrics))
                .increment();
        EventBody body = null;
        boolean taken = false;
        for (PgConsumer consumer : consumers) {
            if (!consumer.isRunAllowed() || !consumer.subscription().matches(event)) continue;
            // one body for every route: its JSON is built once, and only if something reads it
            if (body == null) body = new EventBody(event);
            taken = true;
            String route = consumer.getRouteId();
            if ("wal".equals(sourceKind)) walRoute = route;
            PgConsumer.Delivery delivery = consumer.deliver(body, sequence);
            Exception failure = delivery.failure();
            if (failure == null) {
                if (!delivery.reachedSink()) {
                    out.count(route, "", EventsOut.FILTERED);
                } else if (event.time() != null) {
                    timers.computeIfAbsent(route, r -> Timer.builder("pgrouter.commit.to.delivered").tag("route", r)
                            .publishPercentileHistogram().register(metrics))
                            .record(Duration.between(CommitTimes.parse(event.time()), Instant.now()));
                }
            } else {
                LOG.errorf("%s failed on event %s (%s): %s; writing it to the dead-letter store", consumer.location(), event.id(),
                        event.type(), failure.toString());
                deadLetters.record(event, body.json(), route, failure);
                // a sink that gave up names itself; any other step of the route failed before a sink
                out.count(route, failure instanceof SinkDeliveryException s ? s.sink() : "", EventsOut.DEAD_LETTERED);
                counters.computeIfAbsent("dead/" + route, k -> Counter.builder("pgrouter.dead.letters").tag("route", route).register(metrics))
                        .increment();
            }
        }
        return taken;
    }
}
