package io.pgrouter.delivery;

import java.util.ArrayList;
import java.util.List;

/**
 * The events of one delivery that a sink sends together (a JMS transaction, a Kafka round, a bulk request, a batch
 * of confirms, a webhook batch), as its attempts go: what is still to send, in order, and what the destination
 * refused for good. A sink's attempt takes the events it delivered out ({@link #delivered()}, {@link #onlyLeft}),
 * refuses some for good ({@link #reject}) and throws a retryable {@link SinkDeliveryException} while some remain;
 * {@link DurableDelivery#deliverBatch} does the rest: dead letters, in-line retries, the retry store.
 */
public class DeliveryBatch<T extends SinkEvent> {

    private final List<T> events;
    private final List<T> remaining;
    private final List<Refused<T>> refused = new ArrayList<>();

    /** An event the destination refused for good, and why. */
    public record Refused<T>(T event, SinkDeliveryException reason) {
    }

    public DeliveryBatch(List<T> events) {
        this.events = List.copyOf(events);
        this.remaining = new ArrayList<>(events);
    }

    /** Every event the delivery started with, in order. */
    public List<T> events() {
        return events;
    }

    /** What is left to send, in order (a copy). */
    public List<T> remaining() {
        return List.copyOf(remaining);
    }

    /** The destination took everything left. */
    public void delivered() {
        remaining.clear();
    }

    /** The destination took everything left except {@code failed} (in order), which stay to be sent again. */
    public void onlyLeft(List<T> failed) {
        remaining.clear();
        for (T e : failed) {
            if (!isRefused(e)) remaining.add(e);
        }
    }

    /** The destination refused this event for good: it goes to dead letters with the reason. */
    public void reject(T event, SinkDeliveryException reason) {
        remaining.removeIf(e -> e == event);
        if (!isRefused(event)) refused.add(new Refused<>(event, reason));
    }

    /** The events refused for good, with their reasons, in the order they were refused. */
    public List<Refused<T>> refused() {
        return List.copyOf(refused);
    }

    // by identity: two sends of equal events are two events
    private boolean isRefused(T event) {
        for (Refused<T> r : refused) {
            if (r.event() == event) return true;
        }
        return false;
    }
}
