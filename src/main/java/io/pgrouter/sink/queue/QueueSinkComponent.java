package io.pgrouter.sink.queue;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import org.apache.camel.Endpoint;

import io.pgrouter.delivery.RetryingSinkComponent;

/**
 * The Camel component behind a message-queue sink Kamelet: creates endpoints with the shared stores, registers them
 * with the retry worker, and sends every endpoint's batch at the end of a source batch, before the WAL position moves.
 */
public abstract class QueueSinkComponent extends RetryingSinkComponent {

    private final List<QueueSinkEndpoint> endpoints = new CopyOnWriteArrayList<>();

    protected abstract QueueSinkEndpoint newEndpoint(String uri);

    @Override
    protected Endpoint createEndpoint(String uri, String remaining, Map<String, Object> parameters) throws Exception {
        QueueSinkEndpoint endpoint = configured(newEndpoint(uri), parameters, e -> e.init(this));
        endpoints.add(endpoint);
        return endpoint;
    }

    /** Every endpoint sends the calling source's batch; the first failure is thrown after all were tried (the source batch then comes again). */
    @Override
    protected void flushSink() throws Exception {
        Exception first = null;
        for (QueueSinkEndpoint e : endpoints) {
            try {
                e.flush();
            } catch (Exception failure) {
                if (first == null) first = failure;
            }
        }
        if (first != null) throw first;
    }

    public List<QueueSinkEndpoint> endpoints() {
        return List.copyOf(endpoints);
    }
}
