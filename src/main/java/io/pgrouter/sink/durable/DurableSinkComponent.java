package io.pgrouter.sink.durable;

import java.util.Map;

import jakarta.inject.Named;
import jakarta.inject.Singleton;

import org.apache.camel.Endpoint;

import io.pgrouter.delivery.RetryingSinkComponent;
import io.quarkus.arc.Unremovable;

/**
 * {@code pgdurable:<sink name>?uri=<any Camel endpoint URI>}: the producer behind
 * {@code kamelets/durable-sink.kamelet.yaml} and the Kamelets built on it (mqtt-sink, ...). Gives any Camel endpoint the
 * delivery contract: in-line retries, the durable retry store with per-subject order, dead letters with replay. Java
 * because Camel's own error handler retries only in-line and in memory: nothing survives a restart or keeps a subject's
 * order while the stream moves on.
 */
@Singleton
@Named("pgdurable")
@Unremovable
public class DurableSinkComponent extends RetryingSinkComponent {

    /** Every event is sent while it is routed: nothing is held until the end of the source batch. */
    @Override
    protected void flushSink() {
    }

    @Override
    protected Endpoint createEndpoint(String uri, String remaining, Map<String, Object> parameters) throws Exception {
        return configured(new DurableSinkEndpoint(uri, remaining, this), parameters, DurableSinkEndpoint::validate);
    }
}
