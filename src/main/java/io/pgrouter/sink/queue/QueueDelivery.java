package io.pgrouter.sink.queue;

import java.util.List;

import io.pgrouter.delivery.DeliveryBatch;
import io.pgrouter.delivery.DurableDelivery;
import io.pgrouter.delivery.SinkDeliveryException;

/**
 * The shared delivery contract ({@link DurableDelivery#deliverBatch}) for a broker that takes events in batches: one
 * attempt sends a whole batch (a JMS transaction, a round of Kafka sends awaited together). While a broker is known
 * to be down (a batch spent its in-line retries), new events go straight to the retry store ({@link #admit}), so the
 * stream moves at the source's pace; the retry worker's attempts are the probes.
 */
public final class QueueDelivery {

    /** One attempt at the events left in {@code batch} (see {@link DeliveryBatch}). */
    @FunctionalInterface
    public interface Sender {
        void send(Batch batch) throws SinkDeliveryException, InterruptedException;
    }

    /** The events of one delivery to a broker. */
    public static final class Batch extends DeliveryBatch<QueueEvent> {
        Batch(List<QueueEvent> events) {
            super(events);
        }
    }

    private final DurableDelivery delivery;

    /** @param delivery this endpoint's (its broker's up/down state is shared with every endpoint sending there) */
    public QueueDelivery(DurableDelivery delivery) {
        this.delivery = delivery;
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
        delivery.deliverBatch(new Batch(events), sender::send);
    }

    /** One attempt for an event waiting in the retry store; its success marks the broker up. */
    public void redeliver(QueueEvent event, Sender sender) throws SinkDeliveryException, InterruptedException {
        delivery.redeliver(new Batch(List.of(event)), sender::send);
    }

    /** One attempt for several waiting events (read back by {@code read}) as one batch: per event, null when delivered, else why not. */
    public List<SinkDeliveryException> redeliverAll(List<String> jsons, DurableDelivery.StoredEvent<QueueEvent> read, Sender sender)
            throws InterruptedException {
        return delivery.redeliverAll(jsons, read, Batch::new, sender::send);
    }
}
