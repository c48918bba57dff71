package io.pgrouter.sink;

import jakarta.inject.Inject;

import org.apache.camel.support.DefaultComponent;

import io.pgrouter.store.DeadLetterStore;

/**
 * What every sink component on the delivery contract shares: the retry store, the retry worker its endpoints register
 * with, the dead-letter store, and the {@link DurableDelivery} made of them for one endpoint.
 */
public abstract class RetryingSinkComponent extends DefaultComponent implements BatchBoundary {

    @Inject
    RetryStore retryStore;

    @Inject
    RetryWorker retryWorker;

    @Inject
    DeadLetterStore deadLetters;

    @Inject
    EventsOut out;

    /** Hands the endpoint to the retry worker, which re-sends its parked events. */
    protected void registerWithRetryWorker(RetryingSinkEndpoint endpoint) {
        retryWorker.register(endpoint);
    }

    /** The delivery contract for one endpoint: its policy and sink key, the shared retry and dead-letter stores. */
    public DurableDelivery delivery(String sink, RetryingSinkEndpoint endpoint, String where) {
        return new DurableDelivery(sink, endpoint.sinkKey(), where, endpoint.policy(), retryStore, deadLetters, out);
    }

    public RetryStore retryStore() {
        return retryStore;
    }

    public DeadLetterStore deadLetters() {
        return deadLetters;
    }
}
