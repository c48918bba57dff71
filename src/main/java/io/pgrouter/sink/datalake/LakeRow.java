package io.pgrouter.sink.datalake;

import java.time.Instant;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.pgrouter.event.CanonicalEvent;
import io.pgrouter.event.Op;

/**
 * One row of the lake: the row's columns ({@code after}, or {@code before} for a delete; none for a truncate; the
 * payload as column {@code data} for notifications and messages that are not row changes) and the event's facts.
 * An unchanged TOAST column that PostgreSQL did not send is absent from {@code columns}, as from the event.
 */
record LakeRow(CanonicalEvent event, String folder, ObjectNode columns) {

    static LakeRow of(CanonicalEvent event) {
        if (event.table() == null) {
            ObjectNode payload = JsonNodeFactory.instance.objectNode();
            payload.set("data", event.data());
            return new LakeRow(event, event.op().wire() + "." + event.channel(), payload);
        }
        JsonNode data = event.data();
        JsonNode row = event.op() == Op.DELETE ? data.get("before") : data.get("after");
        ObjectNode columns = row instanceof ObjectNode o ? o : JsonNodeFactory.instance.objectNode();
        return new LakeRow(event, event.qualifiedTable(), columns);
    }

    /** Commit time (UTC, RFC 3339) from the event; the time of writing for events without one. */
    String time() {
        return event.time() != null ? event.time() : Instant.now().toString();
    }

    boolean isTableRow() {
        return event.table() != null;
    }
}
