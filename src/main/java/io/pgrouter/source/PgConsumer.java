package io.pgrouter.source;

import org.apache.camel.Exchange;
import org.apache.camel.Processor;
import org.apache.camel.support.DefaultConsumer;

import io.pgrouter.delivery.BatchBoundary;
import io.pgrouter.delivery.RoutedExchange;
import io.pgrouter.event.EventBody;

/** A route's subscription to a shared source; the source hands it every matching event, synchronously. */
public class PgConsumer extends DefaultConsumer {

    /** Exchange property: the id of the route whose pg: consumer took the event; see {@link RoutedExchange}. */
    public static final String ROUTE_ID = RoutedExchange.ROUTE_ID;

    private final Subscription subscription;

    PgConsumer(PgEndpoint endpoint, Processor processor, Subscription subscription) {
        super(endpoint, processor);
        this.subscription = subscription;
    }

    public Subscription subscription() {
        return subscription;
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
        exchange.setProperty(BatchBoundary.SEQUENCE, sequence);
        BatchBoundary.routing(sequence);
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
