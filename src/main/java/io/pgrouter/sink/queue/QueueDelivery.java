package io.pgrouter.sink.queue;

import java.util.ArrayList;
import java.util.List;

import org.jboss.logging.Logger;

import io.pgrouter.sink.DurableDelivery;
import io.pgrouter.sink.SinkDeliveryException;

/**
 * The shared delivery contract ({@link DurableDelivery}) applied to a broker that takes events in batches: one
 * attempt sends a whole batch (a JMS transaction, a round of Kafka sends awaited together); what the broker refuses
 * for good goes to dead letters with the reason; retryable failures are retried in-line, then the events still
 * unsent wait in the retry store, in order. While a broker is known to be down (a batch spent its in-line retries),
 * new events go straight to the retry store, so the stream moves at the source's pace; the retry worker's attempts
 * are the probes, and the first one that succeeds lets events through again.
 */
public final class QueueDelivery {

    private static final Logger LOG = Logger.getLogger(QueueDelivery.class);
    /** While the broker is down, the retry worker tries it at most this often; the other waiting events fail at once. */
    static final long PROBE_INTERVAL_MS = 1000;

    /**
     * One attempt at the events left in {@code batch}: returns when the broker took all of them, throws a retryable
     * {@link SinkDeliveryException} while some remain (those stay in the batch, in order), and takes out with
     * {@link Batch#reject} an event the broker refuses for good. Throwing a permanent failure refuses the whole rest.
     */
    @FunctionalInterface
    public interface Sender {
        void send(Batch batch) throws SinkDeliveryException, InterruptedException;
    }

    /** The events of one delivery still to send, in order, and those the broker refused for good. */
    public static final class Batch {
        private final List<QueueEvent> remaining;
        private final List<QueueEvent> rejected = new ArrayList<>();
        private final List<SinkDeliveryException> reasons = new ArrayList<>();

        Batch(List<QueueEvent> events) {
            this.remaining = new ArrayList<>(events);
        }

        /** What is left to send, in order (a copy). */
        public List<QueueEvent> remaining() {
            return List.copyOf(remaining);
        }

        /** The broker took everything left. */
        public void delivered() {
            remaining.clear();
        }

        /** The broker took everything left except {@code failed} (a subset, in order), which stay to be sent again. */
        public void onlyLeft(List<QueueEvent> failed) {
            remaining.clear();
            remaining.addAll(failed);
        }

        /** The broker refused this event for good: it goes to dead letters with the reason. */
        public void reject(QueueEvent event, SinkDeliveryException reason) {
            for (int i = 0; i < remaining.size(); i++) {
                if (remaining.get(i) == event) {
                    remaining.remove(i);
                    break;
                }
            }
            rejected.add(event);
            reasons.add(reason);
        }
    }

    private final String sink;
    private final DurableDelivery delivery;
    private final String where;
    private final Availability broker;

    /**
     * Whether a broker is down, shared by the endpoints of one sink key (same destination, several routes): the retry
     * worker probes through one of them only, and the first success must let every one of them send directly again.
     */
    public static final class Availability {
        private volatile long downSince;
        private volatile long lastProbe;
        /** Events sent straight to the retry store since the broker went down (logged when it is back). */
        private final java.util.concurrent.atomic.AtomicLong parkedWhileDown = new java.util.concurrent.atomic.AtomicLong();
    }

    /** @param sink and @param where as in {@link DurableDelivery}; {@code delivery} is this endpoint's, {@code broker} its sink key's. */
    public QueueDelivery(String sink, String where, DurableDelivery delivery, Availability broker) {
        this.sink = sink;
        this.delivery = delivery;
        this.where = where;
        this.broker = broker;
    }

    /**
     * Whether the event may be sent now. False when it was parked in the retry store instead: behind an earlier event
     * of its subject, or because the broker is down.
     */
    public boolean admit(QueueEvent event) throws Exception {
        if (delivery.queuedBehind(event.json(), event.subject(), event.routeId())) return false;
        if (broker.downSince == 0 || !delivery.policy().durable()) return true;
        delivery.parkQuietly(event.json(), event.subject(), event.routeId(), unavailable());
        broker.parkedWhileDown.incrementAndGet();
        return false;
    }

    /** A batch spent its in-line retries and no attempt has succeeded since. */
    public boolean isBrokerDown() {
        return broker.downSince != 0;
    }

    private SinkDeliveryException unavailable() {
        return new SinkDeliveryException(sink, where + " unavailable since " + java.time.Instant.ofEpochMilli(broker.downSince), null, null, 0, true, null,
                null);
    }

    /** Delivers admitted events, in order: sent, dead-lettered, or parked when the in-line retries ran out. */
    public void deliver(List<QueueEvent> events, Sender sender) throws Exception {
        if (events.isEmpty()) return;
        Batch batch = new Batch(events);
        SinkDeliveryException last;
        try {
            last = delivery.inline(() -> sender.send(batch));
        } catch (SinkDeliveryException refused) {
            for (QueueEvent e : batch.remaining()) batch.reject(e, refused);
            last = null;
        }
        for (int i = 0; i < batch.rejected.size(); i++) {
            QueueEvent e = batch.rejected.get(i);
            SinkDeliveryException reason = batch.reasons.get(i);
            LOG.errorf("%s refused event %s for good (%s): it goes to dead letters", where, e.id(), reason.getMessage());
            delivery.deadLetter(e.json(), e.routeId(), reason);
        }
        List<QueueEvent> left = last == null ? List.of() : batch.remaining();
        countDelivered(events, batch.rejected, left);
        if (last == null) {
            up();
            return;
        }
        if (!delivery.policy().durable()) {
            LOG.errorf("%s failed %d attempts (%s): %d events go to dead letters (no retry budget)", where, last.attempts(), last.getMessage(), left.size());
            for (QueueEvent e : left) delivery.deadLetter(e.json(), e.routeId(), last);
            return;
        }
        for (QueueEvent e : left) delivery.parkQuietly(e.json(), e.subject(), e.routeId(), last);
        if (broker.downSince == 0) {
            broker.downSince = System.currentTimeMillis();
            broker.lastProbe = broker.downSince;
            broker.parkedWhileDown.set(0);
        }
        LOG.warnf("%s is unavailable after %d attempts (%s): %d events wait in the retry store, and new events go there until it answers again",
                where, last.attempts(), last.getMessage(), left.size());
    }

    /** Every event of a delivery that was neither refused nor left over counts as delivered. */
    private void countDelivered(List<QueueEvent> events, List<QueueEvent> rejected, List<QueueEvent> left) {
        java.util.Set<QueueEvent> not = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        not.addAll(rejected);
        not.addAll(left);
        for (QueueEvent e : events) {
            if (!not.contains(e)) delivery.delivered(e.routeId());
        }
    }

    /** One attempt for an event waiting in the retry store; while the broker is down, only one such attempt per second reaches it. */
    public void redeliver(QueueEvent event, Sender sender) throws SinkDeliveryException, InterruptedException {
        long now = System.currentTimeMillis();
        if (broker.downSince != 0 && now - broker.lastProbe < PROBE_INTERVAL_MS) throw unavailable();
        broker.lastProbe = now;
        Batch batch = new Batch(List.of(event));
        try {
            sender.send(batch);
        } catch (SinkDeliveryException e) {
            if (e.retryable() && delivery.policy().durable() && broker.downSince == 0) {
                broker.downSince = now;
                broker.parkedWhileDown.set(0);
            }
            throw e;
        }
        if (!batch.rejected.isEmpty()) throw batch.reasons.get(0);
        up();
    }

    private void up() {
        if (broker.downSince != 0) {
            LOG.infof("%s answers again after %d s: events flow directly; %d events that arrived meanwhile are re-sent from the retry store", where,
                    (System.currentTimeMillis() - broker.downSince) / 1000, broker.parkedWhileDown.get());
        }
        broker.downSince = 0;
    }
}
