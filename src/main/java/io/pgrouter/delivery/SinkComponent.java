package io.pgrouter.delivery;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import org.apache.camel.Endpoint;
import org.apache.camel.support.DefaultComponent;

/**
 * The one Camel component of every sink kind ({@code pgwebhook}, {@code pgkafka}, ...; one instance per kind, made
 * where the sinks are listed): it does the delivery contract's share once. A new endpoint's options are set on a
 * fresh {@link SinkConfig} and checked; the endpoint is registered with the {@link RetryWorker}; at each source's
 * batch end every endpoint's sink flushes that source's events, then what the source parked meanwhile is written to
 * the retry store; a timer lets lingering sinks send what is due.
 */
public class SinkComponent<C extends SinkConfig> extends DefaultComponent implements BatchBoundary {

    private final SinkType<C> type;
    private final DeliveryContract contract;
    private final List<SinkEndpoint<C>> endpoints = new CopyOnWriteArrayList<>();
    private ScheduledExecutorService lingering;

    public SinkComponent(SinkType<C> type, DeliveryContract contract) {
        this.type = type;
        this.contract = contract;
    }

    /** The kind of sink this component makes. */
    public SinkType<C> type() {
        return type;
    }

    /** The sink kind's name for operators (e.g. {@code webhook}). */
    public String name() {
        return type.name();
    }

    /** Every endpoint made by this component, in the order they were made. */
    public List<SinkEndpoint<C>> endpoints() {
        return List.copyOf(endpoints);
    }

    @Override
    protected Endpoint createEndpoint(String uri, String remaining, Map<String, Object> parameters) throws Exception {
        C config = type.config().get();
        config.path(remaining);
        setProperties(config, parameters);
        config.check(uri, getCamelContext());
        SinkEndpoint<C> endpoint = new SinkEndpoint<>(uri, this, config, contract.delivery(config));
        if (config.retrying()) contract.worker.register(endpoint);
        endpoints.add(endpoint);
        return endpoint;
    }

    /** Every sink's batch end for the calling source, then every event the source parked meanwhile is written to the retry store. */
    @Override
    public final void flush() throws Exception {
        try {
            flushEndpoints(true);
        } finally {
            contract.retries.writeParked();
        }
    }

    /** As {@link #flush()}, but sinks and parked events may linger (the source holds its position before them). */
    @Override
    public final long flushDue() throws Exception {
        long held;
        try {
            held = flushEndpoints(false);
        } catch (Exception e) {
            contract.retries.writeParked();
            throw e;
        }
        return Math.min(held, contract.retries.writeParkedDue());
    }

    /** Every endpoint's {@link Sink#flush}; the first failure is thrown once all were tried (the source batch then comes again). */
    private long flushEndpoints(boolean everything) throws Exception {
        long held = Long.MAX_VALUE;
        Exception first = null;
        for (SinkEndpoint<C> e : endpoints) {
            try {
                held = Math.min(held, e.flush(everything));
            } catch (Exception failure) {
                if (first == null) first = failure;
                else first.addSuppressed(failure);
            }
        }
        if (first != null) throw first;
        return held;
    }

    @Override
    protected void doStart() throws Exception {
        super.doStart();
        lingering = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "pgrouter-" + type.name() + "-linger");
            t.setDaemon(true);
            return t;
        });
        lingering.scheduleWithFixedDelay(() -> endpoints.forEach(SinkEndpoint::sendLingering), 50, 50, TimeUnit.MILLISECONDS);
    }

    @Override
    protected void doStop() throws Exception {
        if (lingering != null) lingering.shutdownNow();
        super.doStop();
    }
}
