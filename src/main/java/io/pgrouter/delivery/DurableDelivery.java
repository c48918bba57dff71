package io.pgrouter.delivery;

import java.time.Instant;
import java.util.concurrent.ThreadLocalRandom;

import org.jboss.logging.Logger;

import io.pgrouter.event.CanonicalEvent;

/**
 * The one delivery contract every sink shares (webhook, message queues, search, ...): a few in-line attempts with
 * exponential backoff and jitter, then the durable {@link RetryStore} so the stream moves on, per-subject order kept
 * (a later event of a subject that waits queues behind it), and the dead-letter store for what will never succeed.
 * A sink supplies one {@link Attempt} per event or batch and says what failed through {@link SinkDeliveryException}
 * (retryable or not); the {@link RetryWorker} re-sends waiting events through the sink's {@link Redeliverable}.
 * Once a delivery spent its in-line retries the destination is down ({@link SinkDestinations}): new events go to the
 * retry store at once instead of each spending the in-line retries on the source's thread, until a retry worker's
 * attempt ({@link #probe}) or a direct delivery succeeds.
 */
public final class DurableDelivery {

    private static final Logger LOG = Logger.getLogger(DurableDelivery.class);

    /** One try: returns when delivered, throws a retryable or permanent {@link SinkDeliveryException} when not. */
    @FunctionalInterface
    public interface Attempt {
        void run() throws SinkDeliveryException, InterruptedException;
    }

    /** One attempt at what is left of a batch: see {@link DeliveryBatch} for what it reports and how. */
    @FunctionalInterface
    public interface BatchAttempt<B> {
        void send(B batch) throws SinkDeliveryException, InterruptedException;
    }

    /**
     * How a sink retries. {@code retries}: in-line retries after the first attempt; {@code backoffMs}: the first wait,
     * doubled per attempt up to {@code maxBackoffMs}, with jitter; {@code maxInlineWaitMs}: a longer wait (say a
     * Retry-After of an hour) ends the in-line retries at once; {@code retryBudgetMs}: how long after its first
     * failure an event may wait in the retry store (0: no retry store, dead letters after the in-line retries).
     */
    public record Policy(int retries, long backoffMs, long maxBackoffMs, long maxInlineWaitMs, long retryBudgetMs) {

        /** The wait after {@code attempts} failed attempts: backoff doubled per attempt, capped, between half and all of it. */
        public long nextDelayMs(int attempts) {
            long ceiling = Math.min(backoffMs << Math.min(Math.max(attempts - 1, 0), 30), maxBackoffMs);
            return ceiling / 2 + ThreadLocalRandom.current().nextLong(ceiling / 2 + 1);
        }

        public boolean durable() {
            return retryBudgetMs > 0;
        }
    }

    private final String sink;
    private final String sinkKey;
    private final String where;
    private final Policy policy;
    private final RetryStore retries;
    private final DeadLetterStore deadLetters;
    private final SinkDestinations.Destination destination;
    private final EventsOut out;

    /**
     * @param sink the sink's name in dead letters (e.g. {@code webhook-sink})
     * @param sinkKey stable across restarts for this configuration, never a secret (see {@link Redeliverable#sinkKey()})
     * @param where the destination as shown in logs and errors, without credentials
     * @param destination whether the destination is down, shared by every endpoint that sends there
     */
    public DurableDelivery(String sink, String sinkKey, String where, Policy policy, RetryStore retries, DeadLetterStore deadLetters,
            SinkDestinations.Destination destination, EventsOut out) {
        this.sink = sink;
        this.sinkKey = sinkKey;
        this.where = where;
        this.policy = policy;
        this.retries = retries;
        this.deadLetters = deadLetters;
        this.destination = destination;
        this.out = out;
    }

    public Policy policy() {
        return policy;
    }

    public SinkDestinations.Destination destination() {
        return destination;
    }

    /**
     * Whether the event may be sent now. False when it went to the retry store instead: behind an earlier event of its
     * subject, or because the destination is down.
     */
    public boolean admit(String json, String subject, String routeId) throws java.sql.SQLException {
        return !queuedBehind(json, subject, routeId) && !parkedWhileDown(json, subject, routeId);
    }

    /**
     * While the destination is down, or parked by the WAL retention guard (and the sink has a retry budget), parks the
     * event at once, due now, and returns true.
     */
    private boolean parkedWhileDown(String json, String subject, String routeId) throws java.sql.SQLException {
        if (!destination.parksNewEvents() || !policy.durable()) return false;
        retries.parkAtBatchEnd(sinkKey, routeId, subject, json, destination.isDown() ? where + " down since " + destination.downSince()
                : where + " holds the WAL slot back (pgrouter.wal.on-max-lag=park)");
        destination.parkedWhileDown(1);
        out.count(routeId, sink, EventsOut.PARKED);
        return true;
    }

    /**
     * After an attempt at a batch with its in-line retries: success (null) marks the destination up; retries spent
     * mark it down, when the sink has a retry store to send new events to meanwhile.
     */
    public void settled(SinkDeliveryException last) {
        if (last == null) {
            destination.up();
        } else if (policy.durable()) {
            destination.down(last.attempts() + " attempts failed; last: " + last.getMessage());
        }
    }

    /** Writes the events the calling thread parked (a thread other than a source's, which writes them at its batch end). */
    public void writeParked() throws java.sql.SQLException {
        retries.writeParked();
    }

    /** One attempt for an event waiting in the retry store: its success marks the destination up. */
    public void probe(Attempt attempt) throws SinkDeliveryException, InterruptedException {
        attempt.run();
        destination.up();
    }

    /**
     * The whole path for one event: queued behind a waiting event of its subject, parked while the destination is
     * down, or delivered with in-line retries, or parked in the retry store when the retries ran out (the destination
     * is then down). Throws (for the dispatcher to dead-letter the event) on a
     * permanent failure, or on a retryable one when the sink has no retry budget.
     */
    public void deliver(String json, String subject, String routeId, Attempt attempt) throws Exception {
        if (!admit(json, subject, routeId)) return;
        SinkDeliveryException last = inline(attempt);
        settled(last);
        if (last == null) {
            delivered(routeId);
            return;
        }
        if (policy.durable()) {
            parkQuietly(json, subject, routeId, last);
            return;
        }
        throw new SinkDeliveryException(sink, where + " failed " + last.attempts() + " attempts; last: " + last.getMessage(), last.lastStatus(),
                last.responseExcerpt(), last.attempts(), true, last.retryAfterMs(), null);
    }

    /** The events that may be sent now, in order; each of the others went to the retry store ({@link #admit}). */
    public <T extends SinkEvent> java.util.List<T> admitted(java.util.List<T> events) throws java.sql.SQLException {
        java.util.List<T> admitted = new java.util.ArrayList<>(events.size());
        for (T e : events) {
            if (admit(e.json(), e.subject(), e.routeId())) admitted.add(e);
        }
        return admitted;
    }

    /**
     * The whole path for a batch of admitted events, the one every batching sink shares: attempts with in-line
     * retries; what the destination refused for good goes to dead letters with its reason (an attempt that throws a
     * permanent failure refuses everything left); when the retries ran out, the events left wait in the retry store in
     * order (dead letters without a retry budget) and the destination is down; the others count as delivered. Throws
     * only when an event can be neither delivered nor stored: the caller then holds the whole batch again.
     */
    public <T extends SinkEvent, B extends DeliveryBatch<T>> void deliverBatch(B batch, BatchAttempt<B> attempt) throws Exception {
        if (batch.events().isEmpty()) return;
        SinkDeliveryException last;
        try {
            last = inline(() -> attempt.send(batch));
        } catch (SinkDeliveryException refused) {
            for (T e : batch.remaining()) batch.reject(e, refused);
            last = null;
        }
        for (DeliveryBatch.Refused<T> r : batch.refused()) {
            LOG.errorf("%s refused an event of subject %s for good (%s): it goes to dead letters", where, r.event().subject(), r.reason().getMessage());
            deadLetter(r.event().json(), r.event().routeId(), r.reason());
        }
        settled(last);
        java.util.List<T> left = last == null ? java.util.List.of() : batch.remaining();
        java.util.Set<T> notDelivered = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        batch.refused().forEach(r -> notDelivered.add(r.event()));
        notDelivered.addAll(left);
        for (T e : batch.events()) {
            if (!notDelivered.contains(e)) delivered(e.routeId());
        }
        if (left.isEmpty()) return;
        if (!policy.durable()) {
            LOG.errorf("%s failed %d attempts (%s): %d events go to dead letters (no retry budget)", where, last.attempts(), last.getMessage(), left.size());
            for (T e : left) deadLetter(e.json(), e.routeId(), last);
            return;
        }
        for (T e : left) parkQuietly(e.json(), e.subject(), e.routeId(), last);
        LOG.warnf("%s: %d events wait in the retry store after %d attempts (%s)", where, left.size(), last.attempts(), last.getMessage());
    }

    /**
     * One attempt for an event waiting in the retry store, as a batch of one (see {@link #deliverBatch}): its success
     * marks the destination up; a refusal for good is thrown (the retry worker dead-letters the event).
     */
    public <T extends SinkEvent, B extends DeliveryBatch<T>> void redeliver(B single, BatchAttempt<B> attempt)
            throws SinkDeliveryException, InterruptedException {
        probe(() -> attempt.send(single));
        if (!single.refused().isEmpty()) throw single.refused().get(0).reason();
    }

    /** The most waiting events one redelivery carries, for the sinks that take a backlog in batches. */
    public static final int REDELIVERY_BATCH = 500;

    /** How a sink reads an event back from the retry store; one it cannot read fails with why. */
    @FunctionalInterface
    public interface StoredEvent<T> {
        T read(String json) throws SinkDeliveryException;
    }

    /**
     * {@link #redeliverAll(DeliveryBatch, BatchAttempt)} for events as the retry store keeps them: each read back
     * ({@code read}; one it cannot read gets its failure), the readable ones sent as one batch. Per event, in order:
     * null when delivered, else why not.
     */
    public <T extends SinkEvent, B extends DeliveryBatch<T>> java.util.List<SinkDeliveryException> redeliverAll(java.util.List<String> jsons,
            StoredEvent<T> read, java.util.function.Function<java.util.List<T>, B> batchOf, BatchAttempt<B> attempt) throws InterruptedException {
        java.util.List<T> events = new java.util.ArrayList<>(jsons.size());
        java.util.Map<Integer, SinkDeliveryException> unreadable = new java.util.HashMap<>();
        for (int i = 0; i < jsons.size(); i++) {
            try {
                events.add(read.read(jsons.get(i)));
            } catch (SinkDeliveryException e) {
                unreadable.put(i, e);
            }
        }
        java.util.List<SinkDeliveryException> sent = events.isEmpty() ? java.util.List.of() : redeliverAll(batchOf.apply(events), attempt);
        java.util.List<SinkDeliveryException> outcomes = new java.util.ArrayList<>(jsons.size());
        for (int i = 0, j = 0; i < jsons.size(); i++) outcomes.add(unreadable.containsKey(i) ? unreadable.get(i) : sent.get(j++));
        return outcomes;
    }

    /**
     * One attempt for several events waiting in the retry store, as one batch (see {@link #deliverBatch}). Per event,
     * in the batch's order: null when delivered, the reason when refused for good, the attempt's failure when it is
     * still to send. An attempt the destination answered marks it up.
     */
    public <T extends SinkEvent, B extends DeliveryBatch<T>> java.util.List<SinkDeliveryException> redeliverAll(B batch, BatchAttempt<B> attempt)
            throws InterruptedException {
        SinkDeliveryException failed = null;
        try {
            attempt.send(batch);
        } catch (SinkDeliveryException e) {
            if (e.retryable()) {
                failed = e;
            } else {
                for (T left : batch.remaining()) batch.reject(left, e);
            }
        }
        java.util.Map<T, SinkDeliveryException> why = new java.util.IdentityHashMap<>();
        for (DeliveryBatch.Refused<T> r : batch.refused()) why.put(r.event(), r.reason());
        for (T left : batch.remaining()) why.putIfAbsent(left, failed != null ? failed
                : new SinkDeliveryException(sink, where + " left the event unsent", null, null, 1, true, null, null));
        java.util.List<SinkDeliveryException> outcomes = new java.util.ArrayList<>(batch.events().size());
        boolean delivered = false;
        for (T e : batch.events()) {
            SinkDeliveryException w = why.get(e);
            outcomes.add(w);
            delivered |= w == null;
        }
        if (failed == null || delivered) destination.up();
        return outcomes;
    }

    /**
     * When an earlier event of this subject waits in the retry store for this sink, parks this one behind it (in
     * order) and returns true: the caller must not send it now. Events parked here and while the destination is down
     * are written at the source's batch end ({@link RetryStore#writeParked()}), or by the caller when it is not a source.
     */
    private boolean queuedBehind(String json, String subject, String routeId) throws java.sql.SQLException {
        if (!policy.durable() || !retries.hasWaiting(sinkKey, subject)) return false;
        retries.parkAtBatchEnd(sinkKey, routeId, subject, json, "waiting behind an earlier event of subject " + subject);
        out.count(routeId, sink, EventsOut.PARKED);
        return true;
    }

    /**
     * The attempt with in-line retries: null when it succeeded, the last failure (carrying the attempts made) when
     * retryable failures outlasted the in-line budget; throws at once on a permanent failure.
     */
    public SinkDeliveryException inline(Attempt attempt) throws SinkDeliveryException, InterruptedException {
        int allowed = policy.retries() + 1;
        int made = 0;
        SinkDeliveryException last = null;
        while (made < allowed) {
            made++;
            destination.attemptStarts();
            try {
                attempt.run();
                return null;
            } catch (SinkDeliveryException e) {
                if (!e.retryable()) throw e.withAttempts(made);
                last = e;
            } finally {
                destination.attemptEnds();
            }
            if (made == allowed) break;
            long delayMs = last.retryAfterMs() != null ? last.retryAfterMs() : policy.nextDelayMs(made);
            if (delayMs > policy.maxInlineWaitMs()) break; // too long to wait in-line: the retry store waits instead
            LOG.debugf("%s attempt %d failed (%s); retrying in %d ms", where, made, last.getMessage(), delayMs);
            Thread.sleep(delayMs);
        }
        return last.withAttempts(made);
    }

    /**
     * After the in-line retries ran out: into the retry store when the sink has a budget (the stream moves on), else
     * into dead letters. For events whose route already moved on (lanes, batches flushed at the end of a source batch).
     */
    public void parkOrDeadLetter(String json, String subject, String routeId, SinkDeliveryException last)
            throws java.sql.SQLException, com.fasterxml.jackson.core.JsonProcessingException {
        if (policy.durable()) {
            park(json, subject, routeId, last);
        } else {
            deadLetter(json, routeId, last);
        }
    }

    /** Stores the event in the retry store, due after the next backoff (or the receiver's Retry-After). */
    public void park(String json, String subject, String routeId, SinkDeliveryException last) throws java.sql.SQLException {
        parkQuietly(json, subject, routeId, last);
        LOG.warnf("%s: event for subject %s waits in the retry store after %d attempts (%s)", where, subject, last.attempts(), last.getMessage());
    }

    /** {@link #park} without its log line, for a sink that logs once for many events (a failed batch, a broker that is down). */
    public void parkQuietly(String json, String subject, String routeId, SinkDeliveryException last) throws java.sql.SQLException {
        long delay = Math.max(policy.nextDelayMs(last.attempts()), last.retryAfterMs() == null ? 0 : last.retryAfterMs());
        retries.park(sinkKey, routeId, subject, json, last.attempts(), Instant.now().plusMillis(delay), last.lastStatus(), last.getMessage());
        out.count(routeId, sink, EventsOut.PARKED);
    }

    /** For events whose route already moved on: the dead-letter record the dispatcher would have written. */
    public void deadLetter(String json, String routeId, SinkDeliveryException failure)
            throws java.sql.SQLException, com.fasterxml.jackson.core.JsonProcessingException {
        deadLetters.record(CanonicalEvent.fromJson(json), json, routeId, failure);
        out.count(routeId, sink, EventsOut.DEAD_LETTERED);
    }

    /** The destination confirmed an event that a sink sent in a batch of its own (a single send counts itself). */
    public void delivered(String routeId) {
        out.count(routeId, sink, EventsOut.DELIVERED);
    }
}
