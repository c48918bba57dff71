package io.pgrouter.delivery;

import org.apache.camel.Exchange;

import io.pgrouter.event.CanonicalEvent;
import io.pgrouter.event.EventBody;

/** What a sink reads from the exchange a source handed to a route, besides the body: the route and the untouched event. */
public final class RoutedExchange {

    /** Exchange property: the id of the route whose pg: consumer took the event (dead letters and retries name it). */
    public static final String ROUTE_ID = "pgRouteId";

    private RoutedExchange() {
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
}
