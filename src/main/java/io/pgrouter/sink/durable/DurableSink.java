package io.pgrouter.sink.durable;

import org.apache.camel.Exchange;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.http.base.HttpOperationFailedException;

import io.pgrouter.delivery.DurableDelivery;
import io.pgrouter.delivery.RoutedEvent;
import io.pgrouter.delivery.Sink;
import io.pgrouter.delivery.SinkContext;
import io.pgrouter.delivery.SinkDeliveryException;
import io.pgrouter.event.CanonicalEvent;

/**
 * Sends each event to the target config on the delivery contract. Every attempt, the first and those from the retry
 * store alike, sends a new exchange: the event JSON as body and the event's pg* and ce* headers, so the target sees the
 * same message whether it is sent now or after a restart; then the config's {@code headers} expressions are set on it. Failures are retryable (a broker that is down, a timeout),
 * except an HTTP 4xx answer other than 408, 425 and 429, and the exception classes listed in {@code permanentErrors}:
 * those go to dead letters at once.
 */
public class DurableSink implements Sink {

    private final DurableConfig config;
    private final DurableDelivery delivery;
    private final ProducerTemplate template;

    public DurableSink(DurableConfig config, SinkContext context) {
        this.config = config;
        this.delivery = context.delivery();
        // resolves the target now: a wrong scheme or option fails at start, naming the route, not at the first event
        context.camel().getEndpoint(config.target());
        this.template = context.camel().createProducerTemplate();
    }

    @Override
    public void close() {
        try {
            template.stop();
        } catch (RuntimeException e) {
            // the Camel context is stopping: its producers go with it
        }
    }

    @Override
    public void accept(RoutedEvent routed) throws Exception {
        String json = routed.json();
        CanonicalEvent event = parse(json);
        delivery.deliver(json, routed.subject(), routed.routeId(), () -> attempt(json, event));
    }

    /** One attempt for an event waiting in the retry store. */
    @Override
    public void redeliver(String json) throws SinkDeliveryException, InterruptedException {
        CanonicalEvent event = parse(json);
        delivery.probe(() -> attempt(json, event));
    }

    private CanonicalEvent parse(String json) throws SinkDeliveryException {
        try {
            return CanonicalEvent.fromJson(json);
        } catch (Exception e) {
            throw new SinkDeliveryException(config.sink(), config.sink() + " sends the event a source made; the body is not one (a step before it "
                    + "replaced the body? put that step in the target's own route): " + e.getMessage(), null, null, 1, e);
        }
    }

    private void attempt(String json, CanonicalEvent event) throws SinkDeliveryException {
        Exchange sent;
        try {
            sent = template.send(config.target(), out -> {
                out.getMessage().setBody(json);
                out.getMessage().getHeaders().putAll(event.headers());
                config.headerExpressions().forEach((name, value) -> out.getMessage().setHeader(name, value.evaluate(out, Object.class)));
            });
        } catch (LinkageError e) {
            // a component whose library lacks a class: no retry helps, and the error must not stop the source
            throw new SinkDeliveryException(config.sink(), config.where() + " cannot be used: its component misses a class (" + e
                    + "): the router lacks a library it needs", null, null, 1, e);
        }
        Exception failure = sent.getException();
        if (failure == null) return;
        Integer status = failure instanceof HttpOperationFailedException http ? http.getStatusCode() : null;
        boolean permanent = config.listedPermanent(failure) || (status != null && status >= 400 && status < 500 && status != 408 && status != 425 && status != 429);
        String answer = failure instanceof HttpOperationFailedException http ? http.getResponseBody() : failure.getMessage();
        throw new SinkDeliveryException(config.sink(), config.where() + (permanent ? " refused the event: " : " failed: ") + failure, status,
                answer == null ? null : answer.substring(0, Math.min(answer.length(), 500)), 1, !permanent, null, failure);
    }
}
