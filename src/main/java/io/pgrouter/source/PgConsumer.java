package io.pgrouter.source;

import org.apache.camel.Exchange;
import org.apache.camel.Processor;
import org.apache.camel.support.DefaultConsumer;

import io.pgrouter.event.CanonicalEvent;
import io.pgrouter.event.EventBody;

/** A route's subscription to a shared source; the source hands it every matching event, synchronously. */
public class PgConsumer extends DefaultConsumer {

    /** Exchange property: the id of the route whose pg: consumer took the event (dead letters and retries name it). */
    public static final String ROUTE_ID = "pgRouteId";

    private final Subscription subscription;

    PgConsumer(PgEndpoint endpoint, Processor processor, Subscription subscription) {
        super(endpoint, processor);
        this.subscription = subscription;
    }

    public Subscription subscription() {
        return subscription;
    }

    /**
     * The route that took the event, even inside a Kamelet (whose template route becomes the exchange's
     * {@code fromRouteId}): what a sink that dead-letters or parks an event itself must record, so replays go back
     * through the user's route.
     */
    public static String routeId(Exchange exchange) {
        String route = exchange.getProperty(ROUTE_ID, String.class);
        return route != null ? route : exchange.getFromRouteId();
    }

    /**
     * The event the source handed over, or null when a step of the route replaced the body (the body is then what a
     * sink must send): sinks that need the event's facts take them from here instead of re-reading the JSON, and sinks
     * that do not send the JSON never have it built.
     */
    public static CanonicalEvent unchangedEvent(Exchange exchange) {
        return exchange.getMessage().getBody() instanceof EventBody body ? body.event() : null;
    }

    /** Where the route was written, for error messages: {@code file:routes/x.yaml:4} when Camel knows it. */
    public String location() {
        String where = getRoute() == null ? null : getRoute().getSourceLocationShort();
        return "route '" + getRouteId() + "'" + (where == null ? "" : " (" + where + ")");
    }

    @Override
    protected void doStart() throws Exception {
        super.doStart();
        try {
            getEndpoint().getComponent().source(getEndpoint().getKind()).subscribe(this);
        } catch (IllegalArgumentException | IllegalStateException e) {
            throw new IllegalStateException(location() + ": " + e.getMessage(), e);
        }
    }

    @Override
    protected void doStop() throws Exception {
        getEndpoint().getComponent().source(getEndpoint().getKind()).unsubscribe(this);
        super.doStop();
    }

    @Override
    public PgEndpoint getEndpoint() {
        return (PgEndpoint) super.getEndpoint();
    }

    /** What a route did with one event: its failure, or whether it reached a sink (when it did not, it filtered the event out). */
    public record Delivery(Exception failure, boolean reachedSink) {
    }

    /** Runs the route for one event. */
    public Delivery deliver(EventBody body) {
        return deliver(body, 0);
    }

    /** @param sequence the dispatcher's number of the event, for sinks that hold events across source batches */
    public Delivery deliver(EventBody body, long sequence) {
        Exchange exchange = createExchange(false);
        exchange.setProperty(io.pgrouter.sink.BatchBoundary.SEQUENCE, sequence);
        io.pgrouter.sink.BatchBoundary.routing(sequence);
        exchange.getIn().setBody(body);
        body.event().putHeaders(exchange.getIn().getHeaders());
        exchange.setProperty(ROUTE_ID, getRouteId());
        try {
            getProcessor().process(exchange);
        } catch (Exception e) {
            exchange.setException(e);
        }
        Delivery delivery = new Delivery(exchange.getException(), exchange.getProperty(SinkSends.REACHED) != null);
        releaseExchange(exchange, false);
        return delivery;
    }
}
