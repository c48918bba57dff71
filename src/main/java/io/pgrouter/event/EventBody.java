package io.pgrouter.event;

import java.io.IOException;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonSerializable;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.jsontype.TypeSerializer;

/**
 * The message body a source hands a route: the event, and its JSON text built the first time something reads it.
 *
 * Routes see the event JSON whichever way they read the body: Camel's type converters (registered by the pg: component:
 * String, byte[], InputStream, so Simple, JSONPath, {@code convertBodyTo} and components sending text or bytes), Jackson
 * (this class serializes as the event object, so {@code marshal: json} and Jackson conversions give the same JSON) and
 * {@link #toString()}. Sinks of this project that get the body untouched take {@link #event()} and never build the text:
 * the data lake writes its own rows, and the JSON was ~14 % of the routing thread's time per event (profile in bench/README).
 */
public final class EventBody extends JsonSerializable.Base {

    private final CanonicalEvent event;
    // written once by the first reader; the text is the same whichever thread builds it
    private String json;

    public EventBody(CanonicalEvent event) {
        this.event = event;
    }

    /** A body whose JSON is already known (a dead letter replayed from the store). */
    public EventBody(CanonicalEvent event, String json) {
        this.event = event;
        this.json = json;
    }

    public CanonicalEvent event() {
        return event;
    }

    /** The event as JSON text ({@link CanonicalEvent#toJson()}), built once. */
    public String json() {
        String text = json;
        if (text == null) json = text = event.toJson();
        return text;
    }

    @Override
    public String toString() {
        return json();
    }

    @Override
    public void serialize(JsonGenerator gen, SerializerProvider serializers) throws IOException {
        event.write(gen);
    }

    @Override
    public void serializeWithType(JsonGenerator gen, SerializerProvider serializers, TypeSerializer typeSer) throws IOException {
        event.write(gen);
    }
}
