package io.pgrouter.delivery;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import jakarta.inject.Singleton;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * {@code pgrouter_events_out_total{route,sink,outcome}}: what became of each event a route took, per sink. A sink on
 * the delivery contract counts its own outcomes (a batch is delivered when the destination confirmed it); any other
 * endpoint counts as delivered when it returned without an error; a route that reached no sink counts the event as
 * filtered, with an empty sink.
 */
@Singleton
public class EventsOut {

    public static final String DELIVERED = "delivered";
    public static final String FILTERED = "filtered";
    public static final String PARKED = "parked";
    public static final String DEAD_LETTERED = "dead-lettered";

    private record Key(String route, String sink, String outcome) {
    }

    private final MeterRegistry metrics;
    // one lookup per event, no key string built
    private final Map<Key, Counter> counters = new ConcurrentHashMap<>();

    public EventsOut(MeterRegistry metrics) {
        this.metrics = metrics;
    }

    public void count(String route, String sink, String outcome) {
        counters.computeIfAbsent(new Key(route == null ? "" : route, sink == null ? "" : sink, outcome),
                k -> Counter.builder("pgrouter.events.out").tag("route", k.route()).tag("sink", k.sink()).tag("outcome", k.outcome())
                        .register(metrics))
                .increment();
    }

    /** The sink's name in a sink key ({@code webhook-sink:1a2b...}). */
    public static String sinkOf(String sinkKey) {
        int colon = sinkKey.indexOf(':');
        return colon < 0 ? sinkKey : sinkKey.substring(0, colon);
    }
}
