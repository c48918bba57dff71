package io.pgrouter.testing;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;

/** What the router counted, read from its meter registry (the figures /q/metrics shows). */
public final class Meters {

    private Meters() {
    }

    /** {@code pgrouter_events_in_total} of a table (all ops): events the sources routed so far. */
    public static double eventsIn(MeterRegistry meters, String table) {
        return meters.find("pgrouter.events.in").tag("table", table).counters().stream().mapToDouble(Counter::count).sum();
    }
}
