package io.pgrouter.sink.durable;

import org.apache.camel.Exchange;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.http.base.HttpOperationFailedException;
import org.apache.camel.support.DefaultProducer;

import io.pgrouter.delivery.DurableDelivery;
import io.pgrouter.delivery.RoutedExchange;
import io.pgrouter.delivery.SinkDeliveryException;
import io.pgrouter.event.CanonicalEvent;
import io.pgrouter.event.EventBody;

/**
 * Sends each event to the target endpoint on the delivery contract. Every attempt, the first and those from the retry
 * store alike, sends a new exchange: the event JSON as body and the event's pg* and ce* headers, so the target sees the
 * same message whether it is sent now or after a restart; then the endpoint's {@code headers} expressions are set on it. Failures are retryable (a broker that is down, a timeout),
 * except an HTTP 4xx answer other than 408, 425 and 429, and the exception classes listed in {@code permanentErrors}:
 * those go to dead letters at once.
 */
class DurableSinkProducer extends DefaultProducer {

    private final DurableSinkEndpoint endpoint;
    private final DurableDelivery delivery;
    private ProducerTemplate template;

    DurableSinkProducer(DurableSinkEndpoint endpoint) {
        super(endpoint);
        this.endpoint = endpoint;
        this.delivery = endpoint.getComponent().delivery(endpoint.sink(), endpoint, endpoint.where());
    }

    @Override
    protected void doStart() throws Exception {
        super.doStart();
        template = getEndpoint().getCamelContext().createProducerTemplate();
        // resolves the target now: a wrong scheme or option fails at start, naming the route, not at the first event
        getEndpoint().getCamelContext().getEndpoint(endpoint.target());
    }

    @Override
    protected void doStop() throws Exception {
        if (template != null) template.stop();
        super.doStop();
    }

    @Override
    public void process(Exchange exchange) throws Exception {
        Object body = exchange.getMessage().getBody();
        String json = body instanceof EventBody event ? event.json() : exchange.getMessage().getBody(String.class);
        CanonicalEvent event = parse(json);
        delivery.deliver(json, exchange.getMessage().getHeader("ceSubject", "", String.class), RoutedExchange.routeId(exchange),
                () -> attempt(json, event));
    }

    /** One attempt for an event waiting in the retry store. */
    void redeliver(String json) throws SinkDeliveryException, InterruptedException {
        CanonicalEvent event = parse(json);
        delivery.probe(() -> attempt(json, event));
    }

    private CanonicalEvent parse(String json) throws SinkDeliveryException {
        try {
            return CanonicalEvent.fromJson(json);
        } catch (Exception e) {
            throw new SinkDeliveryException(endpoint.sink(), endpoint.sink() + " sends the event a source made; the body is not one (a step before it "
                    + "replaced the body? put that step in the target's own route): " + e.getMessage(), null, null, 1, e);
        }
    }

    private void attempt(String json, CanonicalEvent event) throws SinkDeliveryException {
        Exchange sent;
        try {
            sent = template.send(endpoint.target(), out -> {
                out.getMessage().setBody(json);
                out.getMessage().getHeaders().putAll(event.headers());
                endpoint.headerExpressions().forEach((name, value) -> out.getMessage().setHeader(name, value.evaluate(out, Object.class)));
            });
        } catch (LinkageError e) {
            // a component whose library lacks a class: no retry helps, and the error must not stop the source
            throw new SinkDeliveryException(endpoint.sink(), endpoint.where() + " cannot be used: its component misses a class (" + e
                    + "): the router lacks a library it needs", null, null, 1, e);
        }
        Exception failure = sent.getException();
        if (failure == null) return;
        Integer status = failure instanceof HttpOperationFailedException http ? http.getStatusCode() : null;
        boolean permanent = endpoint.listedPermanent(failure) || (status != null && status >= 400 && status < 500 && status != 408 && status != 425 && status != 429);
        String answer = failure instanceof HttpOperationFailedException http ? http.getResponseBody() : failure.getMessage();
        throw new SinkDeliveryException(endpoint.sink(), endpoint.where() + (permanent ? " refused the event: " : " failed: ") + failure, status,
                answer == null ? null : answer.substring(0, Math.min(answer.length(), 500)), 1, !permanent, null, failure);
    }
}
