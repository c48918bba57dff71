package io.pgrouter.delivery;

import jakarta.inject.Inject;

import org.apache.camel.support.DefaultComponent;


/**
 * What every sink component on the delivery contract shares: the retry store, the retry worker its endpoints register
 * with, the dead-letter store, and the {@link DurableDelivery} made of them for one endpoint.
 */
public abstract class RetryingSinkComponent extends DefaultComponent implements BatchBoundary {

    /** Every endpoint made by this component, in the order they were made. */
    private final java.util.List<RetryingSinkEndpoint> endpoints = new java.util.concurrent.CopyOnWriteArrayList<>();

    /**
     * The sink's own batch end for the calling source (see {@link BatchBoundary#flush()}): by default every endpoint's
     * {@link RetryingSinkEndpoint#flushSource()}; the first failure is thrown once all were tried (the source batch
     * then comes again).
     */
    protected void flushSink() throws Exception {
        flushSinkDue();
    }

    /** The sink's own batch end with lingering (see {@link BatchBoundary#flushDue()}): by default every endpoint's {@link RetryingSinkEndpoint#flushSourceDue()}. */
    protected long flushSinkDue() throws Exception {
        long held = Long.MAX_VALUE;
        Exception first = null;
        for (RetryingSinkEndpoint e : endpoints) {
            try {
                held = Math.min(held, e.flushSourceDue());
            } catch (Exception failure) {
                if (first == null) first = failure;
                else first.addSuppressed(failure);
            }
        }
        if (first != null) throw first;
        return held;
    }

    /** Every endpoint made by this component. */
    protected java.util.List<RetryingSinkEndpoint> endpoints() {
        return java.util.List.copyOf(endpoints);
    }

    /** The sink's batch end, then every event the source parked meanwhile is written to the retry store. */
    @Override
    public final void flush() throws Exception {
        try {
            flushSink();
        } finally {
            retryStore.writeParked();
        }
    }

    /** As {@link #flush()}, but parked events may linger a little to be written with more (the source holds its position before them). */
    @Override
    public final long flushDue() throws Exception {
        long held;
        try {
            held = flushSinkDue();
        } catch (Exception e) {
            retryStore.writeParked();
            throw e;
        }
        return Math.min(held, retryStore.writeParkedDue());
    }

    @Inject
    RetryStore retryStore;

    @Inject
    RetryWorker retryWorker;

    @Inject
    DeadLetterStore deadLetters;

    @Inject
    SinkDestinations destinations;

    @Inject
    EventsOut out;

    /** Hands the endpoint to the retry worker, which re-sends its parked events. */
    protected void registerWithRetryWorker(RetryingSinkEndpoint endpoint) {
        retryWorker.register(endpoint);
    }

    /** What {@link #configured} runs on a new endpoint once its options are set. */
    @FunctionalInterface
    protected interface Check<E> {
        void on(E endpoint) throws Exception;
    }

    /**
     * A new endpoint made ready: its options set from the URI, then checked ({@code check} throws a readable error for
     * a bad option), then handed to the retry worker; from then on the component's batch end flushes it.
     */
    protected <E extends RetryingSinkEndpoint> E configured(E endpoint, java.util.Map<String, Object> parameters, Check<E> check) throws Exception {
        setProperties(endpoint, parameters);
        check.on(endpoint);
        registerWithRetryWorker(endpoint);
        endpoints.add(endpoint);
        return endpoint;
    }

    /**
     * The delivery contract for one endpoint: its policy and sink key, the shared retry and dead-letter stores, and the
     * up/down state of its destination ({@code where}), shared with every endpoint that sends there.
     */
    public DurableDelivery delivery(String sink, RetryingSinkEndpoint endpoint, String where) {
        return delivery(sink, endpoint, where, where);
    }

    /** As {@link #delivery(String, RetryingSinkEndpoint, String)}, with the destination named apart from {@code where} (logs). */
    public DurableDelivery delivery(String sink, RetryingSinkEndpoint endpoint, String destinationName, String where) {
        SinkDestinations.Destination destination = destinations.of(sink, destinationName);
        endpoint.destination(destination);
        return new DurableDelivery(sink, endpoint.sinkKey(), where, endpoint.policy(), retryStore, deadLetters, destination, out);
    }

    public RetryStore retryStore() {
        return retryStore;
    }

    public DeadLetterStore deadLetters() {
        return deadLetters;
    }
}
