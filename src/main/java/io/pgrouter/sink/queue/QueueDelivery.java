package io.pgrouter.sink.queue;

import java.util.ArrayList;
import java.util.List;

import org.jboss.logging.Logger;

import io.pgrouter.delivery.DurableDelivery;
import io.pgrouter.delivery.SinkDeliveryException;

/**
 * The shared delivery contract ({@link DurableDelivery}) applied to a broker that takes events in batches: one
 * attempt sends a whole batch (a JMS transaction, a round of Kafka sends awaited together); what the broker refuses
 * for good goes to dead letters with the reason; retryable failures are retried in-line, then the events still
 * unsent wait in the retry store, in order. While a broker is known to be down (a batch spent its in-line retries),
 * new events go straight to the retry store ({@link DurableDelivery#admit}), so the stream moves at the source's pace;
 * the retry worker's attempts are the probes, and the first one that succeeds lets events through again.
 */
public final class QueueDelivery {

    private static final Logger LOG = Logger.getLogger(QueueDelivery.class);

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

    private final DurableDelivery delivery;
    private final String where;

    /** @param where as in {@link DurableDelivery}; {@code delivery} is this endpoint's (its destination's state is shared). */
    public QueueDelivery(String where, DurableDelivery delivery) {
        this.delivery = delivery;
        this.where = where;
    }

    /**
     * Whether the event may be sent now. False when it was parked in the retry store instead: behind an earlier event
     * of its subject, or because the broker is down.
     */
    public boolean admit(QueueEvent event) throws Exception {
        return delivery.admit(event.json(), event.subject(), event.routeId());
    }

    /** A batch spent its in-line retries and no attempt has succeeded since. */
    public boolean isBrokerDown() {
        return delivery.destination().isDown();
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
        delivery.settled(last);
        List<QueueEvent> left = last == null ? List.of() : batch.remaining();
        countDelivered(events, batch.rejected, left);
        if (last == null) return;
        if (!delivery.policy().durable()) {
            LOG.errorf("%s failed %d attempts (%s): %d events go to dead letters (no retry budget)", where, last.attempts(), last.getMessage(), left.size());
            for (QueueEvent e : left) delivery.deadLetter(e.json(), e.routeId(), last);
            return;
        }
        for (QueueEvent e : left) delivery.parkQuietly(e.json(), e.subject(), e.routeId(), last);
        LOG.warnf("%s: %d events wait in the retry store after %d attempts (%s)", where, left.size(), last.attempts(), last.getMessage());
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

    /** One attempt for an event waiting in the retry store; its success marks the broker up. */
    public void redeliver(QueueEvent event, Sender sender) throws SinkDeliveryException, InterruptedException {
        Batch batch = new Batch(List.of(event));
        delivery.probe(() -> sender.send(batch));
        if (!batch.rejected.isEmpty()) throw batch.reasons.get(0);
    }
}
