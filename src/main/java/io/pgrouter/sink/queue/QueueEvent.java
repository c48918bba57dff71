package io.pgrouter.sink.queue;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;

import io.pgrouter.event.CanonicalEvent;
import io.pgrouter.delivery.SinkDeliveryException;
import io.pgrouter.delivery.SinkEvent;

/**
 * One event on its way to a broker: the CloudEvent JSON as the body, its subject (the per-key order and the
 * message key or group), the route it came from, and its context attributes (everything but {@code data}), which
 * the sinks send as {@code ce_*} message properties or headers.
 */
public record QueueEvent(String json, String subject, String routeId, Map<String, String> attributes) implements SinkEvent {

    /** Reads the attributes from the event JSON itself, so a re-sent event carries exactly what the first send did. */
    public static QueueEvent of(String json, String routeId, String sink) throws SinkDeliveryException {
        return of(json, routeId, sink, null);
    }

    /**
     * @param event the event {@code json} was written from, when the route left the body as the source made it: its
     *        attributes are taken from it instead of read back from the JSON (the same map, see CanonicalEvent#attributes)
     */
    public static QueueEvent of(String json, String routeId, String sink, CanonicalEvent event) throws SinkDeliveryException {
        Map<String, String> attributes = event != null ? event.attributes() : attributes(json, sink);
        String subject = attributes.getOrDefault("subject", "");
        return new QueueEvent(json, subject, routeId, attributes);
    }

    public String id() {
        return attributes.get("id");
    }

    /** Top-level members of the event except {@code data}, in order, as text (a streaming read: data is skipped, not parsed into a tree). */
    static Map<String, String> attributes(String json, String sink) throws SinkDeliveryException {
        Map<String, String> out = new LinkedHashMap<>();
        try (JsonParser p = CanonicalEvent.JSON.getFactory().createParser(json)) {
            if (p.nextToken() != JsonToken.START_OBJECT) throw new IOException("not a JSON object");
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                JsonToken value = p.nextToken();
                if ("data".equals(name) || value == JsonToken.START_OBJECT || value == JsonToken.START_ARRAY) {
                    p.skipChildren();
                } else if (value != JsonToken.VALUE_NULL) {
                    out.put(name, p.getText());
                }
            }
        } catch (IOException e) {
            throw new SinkDeliveryException(sink, "the event is not a CloudEvent JSON object: " + e.getMessage(), null, null, 1, e);
        }
        return out;
    }
}
