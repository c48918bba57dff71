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

    /** The sinks whose destination was down at the last round. */
    private final java.util.Set<String> downLastRound = ConcurrentHashMap.newKeySet();

    /** The sinks whose probe or drain of an earlier round is still running: a round skips them. */
    private final java.util.Set<Redeliverable> busy = ConcurrentHashMap.newKeySet();

    /**
     * One round: a destination that is down is probed with one waiting event; then every (sink, subject) whose oldest
     * event is due is drained in order, one event after the other while
     * they keep succeeding (a subject with many waiting events catches up at the receiver's pace, not one per round);
     * up to the sink's concurrency subjects at a time; a sink that takes batches gets them in batches
     * ({@link #drainInBatches}). Each sink's probe and drain run apart from the others' and from
     * the round: a destination that answers slowly (each attempt waiting out its timeout) holds back only its own
     * events, not the probes and the catching up of the other destinations.
     */
    void deliverDue() {
        try {
            // a destination that is down gets one attempt (its probe), not a read of everything waiting for it
            java.util.Set<String> down = new java.util.HashSet<>();
            for (Redeliverable sink : sinks.values()) {
                if (!sink.destinationDown()) {
                    // back since the last round: what waits for it is due now, not after the backoff its failed probes earned
                    if (downLastRound.contains(sink.sinkKey())) {
                        store.dueNow(sink.sinkKey());
                        downLastRound.remove(sink.sinkKey());
                    }
                    continue;
                }
                downLastRound.add(sink.sinkKey());
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
                if (e.getKey().redeliveryBatch() > 1) {
                    apart(e.getKey(), () -> drainInBatches(e.getKey(), e.getValue()));
                    continue;
                }
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
     * How many events of one subject a drain sends before it turns to the other subjects (that subject's turn comes
     * again after them): a subject whose new events keep queueing behind its waiting ones (durable messages without a
     * subject share one) cannot hold the others back for as long as it keeps growing.
     */
    static final int SUBJECT_TURN = 200;

    /**
     * Takes subjects off the queue; per subject, sends the waiting events in order until one fails or is not due, or
     * the subject's turn is over ({@link #SUBJECT_TURN}). When
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
                int sent = 0;
                while (next != null && !next.nextAttemptAt().isAfter(Instant.now()) && (delivered = attempt(sink, next))) {
                    if (++sent == SUBJECT_TURN) {
                        subjects.add(head); // its turn again after the others
                        break;
                    }
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
        } catch (SinkDeliveryException e) {
            if (!deadLettered(sink, head, e)) return false;
            store.remove(head.id());
            return true;
        }
        store.remove(head.id());
        out.count(head.routeId(), EventsOut.sinkOf(head.sinkKey()), EventsOut.DELIVERED);
        return true;
    }

    /**
     * After a failed attempt: rescheduled with the sink's backoff (false), or recorded in dead letters when the failure
     * is permanent or the retry budget is spent (true: the caller removes it from the store).
     */
    private boolean deadLettered(Redeliverable sink, RetryStore.Waiting head, SinkDeliveryException e) throws Exception {
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
        out.count(head.routeId(), EventsOut.sinkOf(head.sinkKey()), EventsOut.DEAD_LETTERED);
        return true;
    }

    /** How many full batches a group of subjects gets in a row before the next group's turn. */
    static final int GROUP_TURN = 20;

    /**
     * The drain of a sink that takes waiting events in batches ({@link Redeliverable#redeliveryBatch()}): the due
     * subjects in groups of up to a batch, each group claimed in one query, its oldest events (each subject's in
     * order) sent in one attempt, and what left the store removed in one statement. A group goes on while its
     * batches come back full (a backlog catches up at the destination's batch pace), up to {@link #GROUP_TURN}
     * batches; the drain stops when the destination went down.
     */
    private Void drainInBatches(Redeliverable sink, java.util.Collection<RetryStore.Waiting> heads) throws Exception {
        int size = sink.redeliveryBatch();
        Map<String, List<String>> subjects = new java.util.LinkedHashMap<>();
        for (RetryStore.Waiting h : heads) subjects.computeIfAbsent(h.sinkKey(), k -> new ArrayList<>()).add(h.subject());
        for (Map.Entry<String, List<String>> key : subjects.entrySet()) {
            List<String> all = key.getValue();
            for (int from = 0; from < all.size(); from += size) {
                List<String> group = all.subList(from, Math.min(all.size(), from + size));
                for (int turn = 0; turn < GROUP_TURN; turn++) {
                    int sent = sendBatch(sink, key.getKey(), group, size);
                    if (sent < 0 && sink.destinationDown()) return null;
                    if (sent < size) break;
                }
            }
        }
        return null;
    }

    /**
     * One batch of a group of subjects: the number of events it took, or -1 when some could not be delivered (their
     * subjects wait for their next attempt; that subject's later events in the batch stay in the store too).
     */
    private int sendBatch(Redeliverable sink, String sinkKey, List<String> group, int size) throws Exception {
        List<String> claimed = store.claimAll(sinkKey, group);
        if (claimed.isEmpty()) return 0;
        try {
            // read under the claims: another router may have sent some before
            List<RetryStore.Waiting> oldest = store.oldest(sinkKey, claimed, size);
            java.util.Set<String> seen = new java.util.HashSet<>(), notDue = new java.util.HashSet<>();
            Instant now = Instant.now();
            for (RetryStore.Waiting w : oldest) {
                if (seen.add(w.subject()) && w.nextAttemptAt().isAfter(now)) notDue.add(w.subject());
            }
            List<RetryStore.Waiting> batch = new ArrayList<>(oldest.size());
            for (RetryStore.Waiting w : oldest) {
                if (!notDue.contains(w.subject())) batch.add(w);
            }
            if (batch.isEmpty()) return 0;
            List<String> events = new ArrayList<>(batch.size());
            for (RetryStore.Waiting w : batch) events.add(w.event());
            List<SinkDeliveryException> outcomes = sink.redeliverAll(events);
            List<Long> left = new ArrayList<>(batch.size());
            java.util.Set<String> stopped = new java.util.HashSet<>();
            for (int i = 0; i < batch.size(); i++) {
                RetryStore.Waiting w = batch.get(i);
                if (stopped.contains(w.subject())) continue; // behind an event of its subject that waits on
                SinkDeliveryException why = outcomes.get(i);
                if (why == null) {
                    left.add(w.id());
                    out.count(w.routeId(), EventsOut.sinkOf(w.sinkKey()), EventsOut.DELIVERED);
                } else if (deadLettered(sink, w, why)) {
                    left.add(w.id());
                } else {
                    stopped.add(w.subject());
                }
            }
            store.removeAll(left);
            return stopped.isEmpty() ? oldest.size() : -1;
        } finally {
            store.releaseAll(sinkKey, claimed);
        }
    }
}
