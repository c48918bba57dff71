package io.pgrouter.delivery;

import jakarta.inject.Singleton;

/**
 * The stores and the worker every sink on the delivery contract shares, handed to each {@link SinkComponent}: the
 * retry store and its worker, the dead-letter store, the destinations' up/down state and the outcome counters.
 */
@Singleton
public class DeliveryContract {

    final RetryStore retries;
    final RetryWorker worker;
    final DeadLetterStore deadLetters;
    final SinkDestinations destinations;
    final EventsOut out;

    public DeliveryContract(RetryStore retries, RetryWorker worker, DeadLetterStore deadLetters, SinkDestinations destinations, EventsOut out) {
        this.retries = retries;
        this.worker = worker;
        this.deadLetters = deadLetters;
        this.destinations = destinations;
        this.out = out;
    }

    /** The path of one configuration's events: its policy and key, and its destination's shared up/down state (null for a sink not {@link SinkConfig#retrying()}). */
    DurableDelivery delivery(SinkConfig config) {
        if (!config.retrying()) return null;
        SinkDestinations.Destination destination = destinations.of(config.sink(), config.destination());
        return new DurableDelivery(config.sink(), config.sinkKey(), config.where(), config.policy(), retries, deadLetters, destination, out);
    }
}
