package io.pgrouter.sink.datalake;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.pgrouter.event.CanonicalEvent;
import io.pgrouter.event.Op;

/**
 * One row of the lake: the row's columns ({@code after}, or {@code before} for a delete; none for a truncate; the
 * payload as column {@code data} for notifications and messages that are not row changes) and the event's facts.
 * A column PostgreSQL did not send (an unchanged TOAST value; a delete's columns outside the replica identity) is
 * absent from {@code columns}, as from the event, and named in {@code unchanged} (null where it does not apply).
 */
record LakeRow(CanonicalEvent event, String folder, ObjectNode columns, List<String> unchanged) {

    static LakeRow of(CanonicalEvent event) {
        if (event.table() == null) {
            ObjectNode payload = JsonNodeFactory.instance.objectNode();
            payload.set("data", event.data());
            return new LakeRow(event, event.op().wire() + "." + event.channel(), payload, null);
        }
        JsonNode data = event.data();
        JsonNode row = event.op() == Op.DELETE ? data.get("before") : data.get("after");
        ObjectNode columns = row instanceof ObjectNode o ? o : JsonNodeFactory.instance.objectNode();
        return new LakeRow(event, event.qualifiedTable(), columns, event.op() == Op.TRUNCATE ? null : List.of());
    }

    /** True for an update or delete: a row PostgreSQL may have sent without some of the table's columns. */
    boolean mayLackColumns() {
        return event.table() != null && (event.op() == Op.UPDATE || event.op() == Op.DELETE);
    }

    /** The same row, naming the table's columns it does not carry as not sent. */
    LakeRow unsentOf(Collection<String> tableColumns) {
        List<String> missing = new ArrayList<>();
        for (String column : tableColumns) if (!columns.has(column)) missing.add(column);
        return missing.isEmpty() ? this : new LakeRow(event, folder, columns, missing);
    }

    /** Commit time (UTC, RFC 3339) from the event; the time of writing for events without one. */
    String time() {
        return event.time() != null ? event.time() : Instant.now().toString();
    }

    boolean isTableRow() {
        return event.table() != null;
    }
}
