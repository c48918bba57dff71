package io.pgrouter.sink.search;

import java.util.Iterator;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.pgrouter.event.CanonicalEvent;
import io.pgrouter.event.Op;
import io.pgrouter.delivery.SinkEvent;

/**
 * One event as a search-index operation: {@code INDEX} writes {@code doc} whole (insert, snapshot); {@code MERGE}
 * writes it after adding the stored document's fields that the event lacks (update: unchanged TOAST columns are
 * absent from {@code after}); {@code DELETE} removes the document; {@code TRUNCATE} empties the index (opt-in).
 * {@code version} is the change's LSN (null for events without a WAL position, e.g. NOTIFY).
 */
record SearchAction(Kind kind, String index, String id, Long version, ObjectNode doc, String json, String subject, String routeId) implements SinkEvent {

    enum Kind { INDEX, MERGE, DELETE, TRUNCATE }

    /** Index name from the template, document id and shaped document for one event; throws on events it cannot index. */
    static SearchAction of(String json, String routeId, SearchConfig config) throws com.fasterxml.jackson.core.JsonProcessingException,
            IllegalArgumentException {
        CanonicalEvent event = CanonicalEvent.fromJson(json);
        if (!event.op().isRow() || event.table() == null) {
            throw new IllegalArgumentException("search-index-sink indexes row events; got " + event.type() + " " + event.id());
        }
        String index;
        try {
            index = config.indexName(event);
        } catch (io.pgrouter.event.EventTemplate.MissingValue e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
        JsonNode data = event.data();
        Long version = event.lsn();
        if (event.op() == Op.TRUNCATE) return new SearchAction(Kind.TRUNCATE, index, null, version, null, json, event.subject(), routeId);
        ObjectNode after = data != null && data.get("after") instanceof ObjectNode a ? a : null;
        ObjectNode before = data != null && data.get("before") instanceof ObjectNode b ? b : null;
        Kind kind = switch (event.op()) {
            case DELETE -> Kind.DELETE;
            case UPDATE -> Kind.MERGE;
            default -> Kind.INDEX;
        };
        ObjectNode keySource = kind == Kind.DELETE ? before : after;
        String id = config.documentId(event.subject(), keySource);
        if (id == null || id.isEmpty()) {
            boolean byColumns = config.getIdColumns() != null && !config.getIdColumns().isBlank();
            throw new IllegalArgumentException("no document id for " + event.id() + (byColumns
                    ? ": the row lacks a column of idColumns (without REPLICA IDENTITY FULL a delete carries only the replica identity's columns)"
                    : ": the table has no primary key and idColumns is not set"));
        }
        if (kind != Kind.DELETE && after == null) throw new IllegalArgumentException("event " + event.id() + " has no row (data.after)");
        ObjectNode doc = kind == Kind.DELETE ? null : config.shape(after);
        return new SearchAction(kind, index, id, version, doc, json, event.subject() == null ? id : event.subject(), routeId);
    }

    /** Index and id: the key under which a bulk request chains the operations of one document. */
    String key() {
        return index + '\n' + id;
    }

    /** The fields of {@code stored} this document lacks, added to it (the stored value of an unchanged TOAST column). */
    ObjectNode mergedWith(ObjectNode stored) {
        ObjectNode merged = doc.deepCopy();
        for (Iterator<Map.Entry<String, JsonNode>> it = stored.fields(); it.hasNext();) {
            Map.Entry<String, JsonNode> field = it.next();
            if (!merged.has(field.getKey())) merged.set(field.getKey(), field.getValue());
        }
        return merged;
    }

    SearchAction withDoc(ObjectNode newDoc) {
        return new SearchAction(Kind.INDEX, index, id, version, newDoc, json, subject, routeId);
    }
}
