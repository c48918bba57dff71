package io.pgrouter.sink.queue;

import java.util.List;
import java.util.Map;

import org.apache.camel.Endpoint;

import io.pgrouter.delivery.RetryingSinkComponent;

/**
 * The Camel component behind a message-queue sink Kamelet: creates endpoints with the shared stores, registers them
 * with the retry worker, and sends every endpoint's batch at the end of a source batch, before the WAL position moves.
 */
public abstract class QueueSinkComponent extends RetryingSinkComponent {

    protected abstract QueueSinkEndpoint newEndpoint(String uri);

    @Override
    protected Endpoint createEndpoint(String uri, String remaining, Map<String, Object> parameters) throws Exception {
        return configured(newEndpoint(uri), parameters, e -> e.init(this));
    }

    /** The endpoints of this sink, e.g. to see whether their broker is down. */
    public List<QueueSinkEndpoint> queueEndpoints() {
        return endpoints().stream().map(QueueSinkEndpoint.class::cast).toList();
    }
}
