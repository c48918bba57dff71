package io.pgrouter.source.kafka;

import java.nio.charset.StandardCharsets;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.pgrouter.event.CanonicalEvent;
import io.pgrouter.event.Op;

/**
 * A Kafka record written by the kafka sink (or any producer of the same CloudEvents) back to the canonical event, so
 * a second-tier route gets the body and headers a {@code pg:wal} route gets. Both CloudEvents Kafka bindings are read:
 * structured (the value is the whole event JSON, as the kafka sink writes it, with {@code ce_*} headers beside) and
 * binary (the value is {@code data}, the attributes are {@code ce_*} headers).
 */
final class KafkaRecords {

    private static final String HEADER_PREFIX = "ce_";

    private KafkaRecords() {
    }

    /** @throws IllegalArgumentException naming what is missing when the record is not such an event */
    static CanonicalEvent event(ConsumerRecord<String, byte[]> record) {
        byte[] value = record.value();
        if (value == null) throw new IllegalArgumentException("the record has no value (a tombstone?)");
        JsonNode parsed = parse(value);
        ObjectNode event;
        if (parsed != null && parsed.isObject() && parsed.has("specversion")) {
            event = (ObjectNode) parsed;
        } else if (record.headers().lastHeader(HEADER_PREFIX + "specversion") != null) {
            event = CanonicalEvent.JSON.createObjectNode();
            for (Header h : record.headers()) {
                if (!h.key().startsWith(HEADER_PREFIX) || h.value() == null) continue;
                String name = h.key().substring(HEADER_PREFIX.length());
                String text = new String(h.value(), StandardCharsets.UTF_8);
                if ("pgtxid".equals(name)) event.put(name, Long.parseLong(text));
                else event.put(name, text);
            }
            event.set("data", parsed != null ? parsed : CanonicalEvent.JSON.getNodeFactory().textNode(new String(value, StandardCharsets.UTF_8)));
        } else {
            throw new IllegalArgumentException("the record is not a CloudEvent: its value has no specversion and it has no ce_specversion header");
        }
        for (String required : new String[] {"id", "source"}) {
            if (!event.hasNonNull(required)) throw new IllegalArgumentException("the CloudEvent has no " + required);
        }
        if (!event.hasNonNull("pgop")) {
            // an event of another producer: the operation from its type (postgres.row.insert, postgres.message, ...)
            String type = event.path("type").asText("");
            Op op = null;
            for (Op o : Op.values()) if (o.ceType().equals(type)) op = o;
            if (op == null) throw new IllegalArgumentException("the CloudEvent has no pgop and its type '" + type + "' is not one of postgres.*");
            event.put("pgop", op.wire());
        }
        return CanonicalEvent.fromJson(event);
    }

    /** The value as JSON, or null when it is not JSON (binary mode with a text payload). */
    private static JsonNode parse(byte[] value) {
        try {
            return CanonicalEvent.JSON.readTree(value);
        } catch (java.io.IOException e) {
            return null;
        }
    }
}
