package io.pgrouter.testing;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import jakarta.inject.Named;
import jakarta.inject.Singleton;

import org.apache.camel.Exchange;

import io.quarkus.arc.Unremovable;

/** Test routes record the events they pass on here ({@code bean:recordedEvents}), so a test can send them again. */
@Singleton
@Named("recordedEvents")
@Unremovable
public class RecordedEvents {

    public record Event(String body, Map<String, Object> headers) {
    }

    private final List<Event> events = new CopyOnWriteArrayList<>();

    public void record(Exchange exchange) {
        events.add(new Event(exchange.getMessage().getBody(String.class), Map.copyOf(exchange.getMessage().getHeaders())));
    }

    public List<Event> events() {
        return List.copyOf(events);
    }
}
