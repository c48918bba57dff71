package io.pgrouter.source;

import jakarta.inject.Singleton;

import org.apache.camel.Endpoint;
import org.apache.camel.Exchange;
import org.apache.camel.spi.CamelEvent;
import org.apache.camel.support.EventNotifierSupport;

import io.pgrouter.delivery.EventsOut;
import io.pgrouter.delivery.SinkEndpoint;

/**
 * Sees every send of a route's event to an endpoint: marks the event as having reached a sink (a route that ends
 * without one filtered it out) and counts it delivered for endpoints that do not count their own outcomes (the data
 * lake, any stock Camel endpoint). A Kamelet or {@code direct:} is a step on the way, not a sink. Camel finds it as a bean.
 */
@Singleton
@io.quarkus.arc.Unremovable
public class SinkSends extends EventNotifierSupport {

    /** Exchange property: some sink took the event. */
    static final String REACHED = "pgSinkReached";

    private final EventsOut out;
    // worked out once per endpoint, not on every send
    private static final int MAX_CACHED = 10_000;
    private final java.util.Map<Endpoint, String> sinkNames = new java.util.concurrent.ConcurrentHashMap<>();

    public SinkSends(EventsOut out) {
        this.out = out;
        setIgnoreCamelContextEvents(true);
        setIgnoreRouteEvents(true);
        setIgnoreServiceEvents(true);
        setIgnoreExchangeCreatedEvent(true);
        setIgnoreExchangeCompletedEvent(true);
        setIgnoreExchangeFailedEvents(true);
        setIgnoreExchangeRedeliveryEvents(true);
        setIgnoreStepEvents(true);
    }

    // Camel announces the sent event only to notifiers that took the sending one
    @Override
    public boolean isEnabled(CamelEvent event) {
        return event instanceof CamelEvent.ExchangeSentEvent || event instanceof CamelEvent.ExchangeSendingEvent;
    }

    @Override
    public void notify(CamelEvent event) {
        if (!(event instanceof CamelEvent.ExchangeSentEvent sent)) return;
        Exchange exchange = sent.getExchange();
        String route = exchange.getProperty(PgConsumer.ROUTE_ID, String.class);
        if (route == null || exchange.getException() != null) return;
        Endpoint endpoint = sent.getEndpoint();
        String sink = sinkNames.get(endpoint);
        if (sink == null) {
            sink = sinkName(endpoint);
            if (sinkNames.size() < MAX_CACHED) sinkNames.put(endpoint, sink); // toD can make endpoints without end
        }
        if (sink.isEmpty()) return;
        exchange.setProperty(REACHED, Boolean.TRUE);
        // a sink on the retry contract counts what its destination confirmed, parked or refused
        if (endpoint instanceof SinkEndpoint<?> ours && ours.config().retrying()) return;
        out.count(route, sink, EventsOut.DELIVERED);
    }

    /**
     * The router's own sinks by their Kamelet's name (the name they record dead letters under), other endpoints by
     * their component; empty for a step on the way (a Kamelet, {@code direct:}).
     */
    private static String sinkName(Endpoint endpoint) {
        if (endpoint instanceof SinkEndpoint<?> ours) return ours.config().sink();
        String scheme = endpoint.getEndpointBaseUri();
        int colon = scheme.indexOf(':');
        String component = colon < 0 ? scheme : scheme.substring(0, colon);
        if ("kamelet".equals(component) || "direct".equals(component)) return "";
        return component;
    }
}
