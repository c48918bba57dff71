package io.pgrouter.delivery;

import org.apache.camel.Exchange;

import io.pgrouter.event.CanonicalEvent;
import io.pgrouter.event.EventBody;

/**
 * What a {@link Sink} receives from a route: the event as the route left it (its JSON, built only when read), the
 * subject whose order holds, the user's route (dead letters and replays name it), the event's id, its dispatch
 * sequence, and the untouched {@link CanonicalEvent} when no step replaced the body.
 */
public final class RoutedEvent implements SinkEvent {

    private final Exchange exchange;
    private String json;

    private RoutedEvent(Exchange exchange) {
        this.exchange = exchange;
    }

    public static RoutedEvent of(Exchange exchange) {
        return new RoutedEvent(exchange);
    }

    /** The body as JSON: the event's own when the route left it, else what Camel's converters make of the body. */
    @Override
    public String json() {
        if (json == null) {
            Object body = exchange.getMessage().getBody();
            json = body instanceof EventBody event ? event.json() : exchange.getMessage().getBody(String.class);
        }
        return json;
    }

    /** The event's subject (its primary key), or "" when it has none. */
    @Override
    public String subject() {
        return exchange.getMessage().getHeader("ceSubject", "", String.class);
    }

    @Override
    public String routeId() {
        return RoutedExchange.routeId(exchange);
    }

    /** The event's id, or null when a step removed its header. */
    public String id() {
        return exchange.getMessage().getHeader("ceId", String.class);
    }

    /** The {@link BatchBoundary#SEQUENCE} the source gave the event (0 outside a source: a test's direct send). */
    public long sequence() {
        return exchange.getProperty(BatchBoundary.SEQUENCE, 0L, Long.class);
    }

    /** The event the source handed over, or null when a step of the route replaced the body. */
    public CanonicalEvent unchanged() {
        return RoutedExchange.unchangedEvent(exchange);
    }

    /** The event: the untouched one, or read back from the body's JSON. */
    public CanonicalEvent event() throws java.io.IOException {
        CanonicalEvent unchanged = unchanged();
        return unchanged != null ? unchanged : CanonicalEvent.fromJson(json());
    }

    /** The exchange's id: a stand-in for an event id a step removed. */
    public String exchangeId() {
        return exchange.getExchangeId();
    }
}
