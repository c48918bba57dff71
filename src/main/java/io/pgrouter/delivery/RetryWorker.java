package io.pgrouter.delivery;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Future;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import jakarta.inject.Singleton;

import org.jboss.logging.Logger;

import io.pgrouter.event.CanonicalEvent;

/**
 * Delivers what waits in the {@link RetryStore} when it is due: per (sink, subject) the oldest first, so the order
 * of one subject holds; success removes it, a permanent failure or a spent retry budget moves it to dead letters.
 */
@Singleton
public class RetryWorker {

    private static final Logger LOG = Logger.getLogger(RetryWorker.class);

    // while PostgreSQL is away every round fails the same way: said once
    private final io.pgrouter.log.RecurringProblem problem = new io.pgrouter.log.RecurringProblem(LOG, "retrying waiting events");

    private final RetryStore store;
    private final DeadLetterStore deadLetters;
    private final EventsOut out;
    private final Map<String, Redeliverable> sinks = new ConcurrentHashMap<>();
    private ScheduledExecutorService timer;
    // the sends of one round, several subjects at a time
    private java.util.concurrent.ExecutorService senders;

    public RetryWorker(RetryStore store, DeadLetterStore deadLetters, EventsOut out) {
        this.store = store;
        this.deadLetters = deadLetters;
        this.out = out;
    }

    public void register(Redeliverable sink) {
        sinks.put(sink.sinkKey(), sink);
        // events stored under the sink's former key (before its key changed) go through it too, unless a sink has that key
        if (sink.formerSinkKey() != null) sinks.putIfAbsent(sink.formerSinkKey(), sink);
    }

    public synchronized void start() {
        if (timer != null) return;
        timer = Executors.newSingleThreadScheduledExecutor(r -> new Thread(r, "pgrouter-retry"));
        java.util.concurrent.atomic.AtomicInteger n = new java.util.concurrent.atomic.AtomicInteger();
        senders = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "pgrouter-retry-send-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        timer.scheduleWithFixedDelay(this::deliverDue, 1, 1, TimeUnit.SECONDS);
        // events parked at a source's batch end and left lingering are written even if that source ends no batch soon
        senders.submit(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                store.writeLingering();
                Thread.sleep(RetryStore.PARKED_LINGER_MS / 2);
            }
            return null;
        });
    }

    public synchronized void stop() {
        if (timer != null) timer.shutdownNow();
        if (senders != null) senders.shutdownNow();
        timer = null;
        senders = null;
    }

    /** The sinks whose probe or drain of an earlier round is still running: a round skips them. */
    private final java.util.Set<Redeliverable> busy = ConcurrentHashMap.newKeySet();

    /**
     * One round: a destination that is down is probed with one waiting event; then every (sink, subject) whose oldest
     * event is due is drained in order, one event after the other while
     * they keep succeeding (a subject with many waiting events catches up at the receiver's pace, not one per round);
     * up to the sink's concurrency subjects at a time. Each sink's probe and drain run apart from the others' and from
     * the round: a destination that answers slowly (each attempt waiting out its timeout) holds back only its own
     * events, not the probes and the catching up of the other destinations.
     */
    void deliverDue() {
        try {
            // a destination that is down gets one attempt (its probe), not a read of everything waiting for it
            java.util.Set<String> down = new java.util.HashSet<>();
            for (Redeliverable sink : sinks.values()) {
                if (!sink.destinationDown()) continue;
                down.add(sink.sinkKey());
                RetryStore.Waiting probe = store.probe(sink.sinkKey());
                if (probe != null) apart(sink, () -> attemptClaimed(sink, probe));
            }
            Map<Redeliverable, java.util.Queue<RetryStore.Waiting>> due = new java.util.LinkedHashMap<>();
            for (RetryStore.Waiting head : store.dueHeads(down)) {
                Redeliverable sink = sinks.get(head.sinkKey());
                if (sink == null) continue; // its route is not loaded in this router (yet): it waits
                due.computeIfAbsent(sink, s -> new java.util.concurrent.ConcurrentLinkedQueue<>()).add(head);
            }
            for (Map.Entry<Redeliverable, java.util.Queue<RetryStore.Waiting>> e : due.entrySet()) {
                int lanes = Math.min(Math.max(1, e.getKey().concurrency()), e.getValue().size());
                apart(e.getKey(), () -> {
                    List<Future<?>> running = new ArrayList<>();
                    for (int i = 0; i < lanes; i++) running.add(senders.submit(() -> drain(e.getKey(), e.getValue())));
                    for (Future<?> f : running) f.get();
                    return null;
                });
            }
            problem.ok();
        } catch (Exception e) {
            report(e);
        }
    }

    /** Runs one sink's probe or drain on the senders, unless one of that sink's is still running. */
    private void apart(Redeliverable sink, java.util.concurrent.Callable<?> work) {
        if (!busy.add(sink)) return;
        try {
            senders.submit(() -> {
                try {
                    work.call();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } catch (Exception e) {
                    report(e);
                } finally {
                    busy.remove(sink);
                }
                return null;
            });
        } catch (java.util.concurrent.RejectedExecutionException stopped) {
            busy.remove(sink);
        }
    }

    private void report(Exception e) {
        Throwable cause = e instanceof java.util.concurrent.ExecutionException && e.getCause() != null ? e.getCause() : e;
        if (!(cause instanceof java.sql.SQLException sql && "42P01".equals(sql.getSQLState()))) {
            problem.failed(String.valueOf(cause.getMessage()));
        }
    }

    /**
     * Takes subjects off the queue; per subject, sends the waiting events in order until one fails or is not due. When
     * the destination went down meanwhile, the other subjects stay due for the next round's probe instead of each
     * failing (and backing off) in turn.
     */
    private Void drain(Redeliverable sink, java.util.Queue<RetryStore.Waiting> subjects) throws Exception {
        for (RetryStore.Waiting head = subjects.poll(); head != null; head = subjects.poll()) {
            // another router sharing the store sends this subject now: it is left to that one
            if (!store.claim(head.sinkKey(), head.subject())) continue;
            boolean delivered = true;
            try {
                // read again under the claim: the other router may have sent it before
                RetryStore.Waiting next = store.head(head.sinkKey(), head.subject());
                while (next != null && !next.nextAttemptAt().isAfter(Instant.now()) && (delivered = attempt(sink, next))) {
                    next = store.head(next.sinkKey(), next.subject());
                }
            } finally {
                store.release(head.sinkKey(), head.subject());
            }
            if (!delivered && sink.destinationDown()) {
                subjects.clear();
                return null;
            }
        }
        return null;
    }

    /** {@link #attempt} under the subject's claim, on the event that is then its oldest; false when another router holds it. */
    private boolean attemptClaimed(Redeliverable sink, RetryStore.Waiting probe) throws Exception {
        if (!store.claim(probe.sinkKey(), probe.subject())) return false;
        try {
            RetryStore.Waiting head = store.head(probe.sinkKey(), probe.subject());
            return head == null || attempt(sink, head);
        } finally {
            store.release(probe.sinkKey(), probe.subject());
        }
    }

    /** One attempt for a waiting event: true when it left the store (delivered or dead-lettered), false when it waits on. */
    private boolean attempt(Redeliverable sink, RetryStore.Waiting head) throws Exception {
        try {
            sink.redeliver(head.event());
            store.remove(head.id());
            out.count(head.routeId(), EventsOut.sinkOf(head.sinkKey()), EventsOut.DELIVERED);
            return true;
        } catch (SinkDeliveryException e) {
            int attempts = head.attempts() + 1;
            boolean spent = Instant.now().isAfter(head.firstFailedAt().plusMillis(sink.retryBudgetMs()));
            if (e.retryable() && !spent) {
                long delay = Math.max(sink.nextDelayMs(attempts), e.retryAfterMs() == null ? 0 : e.retryAfterMs());
                store.reschedule(head.id(), attempts, Instant.now().plusMillis(delay), e.lastStatus(), e.getMessage());
                return false;
            }
            CanonicalEvent event = CanonicalEvent.fromJson(head.event());
            deadLetters.record(event, head.event(), head.routeId(), new SinkDeliveryException(e.sink(),
                    (spent ? "retry budget spent: " : "") + e.getMessage(), e.lastStatus(), e.responseExcerpt(), attempts, e));
            store.remove(head.id());
            out.count(head.routeId(), EventsOut.sinkOf(head.sinkKey()), EventsOut.DEAD_LETTERED);
            return true;
        }
    }
}
