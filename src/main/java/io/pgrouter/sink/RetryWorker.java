package io.pgrouter.sink;

import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import jakarta.inject.Singleton;

import org.jboss.logging.Logger;

import io.pgrouter.event.CanonicalEvent;
import io.pgrouter.store.DeadLetterStore;

/**
 * Delivers what waits in the {@link RetryStore} when it is due: per (sink, subject) the oldest first, so the order
 * of one subject holds; success removes it, a permanent failure or a spent retry budget moves it to dead letters.
 */
@Singleton
public class RetryWorker {

    private static final Logger LOG = Logger.getLogger(RetryWorker.class);

    private final RetryStore store;
    private final DeadLetterStore deadLetters;
    private final Map<String, Redeliverable> sinks = new ConcurrentHashMap<>();
    private ScheduledExecutorService timer;

    public RetryWorker(RetryStore store, DeadLetterStore deadLetters) {
        this.store = store;
        this.deadLetters = deadLetters;
    }

    public void register(Redeliverable sink) {
        sinks.put(sink.sinkKey(), sink);
    }

    public synchronized void start() {
        if (timer != null) return;
        timer = Executors.newSingleThreadScheduledExecutor(r -> new Thread(r, "pgrouter-retry"));
        timer.scheduleWithFixedDelay(this::deliverDue, 1, 1, TimeUnit.SECONDS);
    }

    public synchronized void stop() {
        if (timer != null) timer.shutdownNow();
        timer = null;
    }

    void deliverDue() {
        try {
            for (RetryStore.Waiting head : store.heads()) {
                if (head.nextAttemptAt().isAfter(Instant.now())) continue;
                Redeliverable sink = sinks.get(head.sinkKey());
                if (sink == null) continue; // its route is not loaded in this router (yet): it waits
                try {
                    sink.redeliver(head.event());
                    store.remove(head.id());
                } catch (SinkDeliveryException e) {
                    int attempts = head.attempts() + 1;
                    boolean spent = Instant.now().isAfter(head.firstFailedAt().plusMillis(sink.retryBudgetMs()));
                    if (e.retryable() && !spent) {
                        long delay = Math.max(sink.nextDelayMs(attempts), e.retryAfterMs() == null ? 0 : e.retryAfterMs());
                        store.reschedule(head.id(), attempts, Instant.now().plusMillis(delay), e.lastStatus(), e.getMessage());
                    } else {
                        CanonicalEvent event = CanonicalEvent.fromJson(head.event());
                        deadLetters.record(event, head.event(), head.routeId(), new SinkDeliveryException(e.sink(),
                                (spent ? "retry budget spent: " : "") + e.getMessage(), e.lastStatus(), e.responseExcerpt(), attempts, e));
                        store.remove(head.id());
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (java.sql.SQLException e) {
            if (!"42P01".equals(e.getSQLState())) LOG.warnf("retrying waiting events: %s", e.getMessage());
        } catch (Exception e) {
            LOG.warnf("retrying waiting events: %s", e.getMessage());
        }
    }
}
