package io.pgrouter.event;

import java.io.IOException;
import java.io.StringWriter;
import java.util.LinkedHashMap;
import java.util.Map;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.core.JsonGenerator;

/**
 * The one event shape every source produces: a CloudEvents 1.0 event in JSON, with the PostgreSQL facts
 * as extensions (see DESIGN.md). {@code time} is the commit time in RFC 3339 (UTC).
 */
public record CanonicalEvent(
        String id,
        String source,
        Op op,
        String subject,
        String time,
        String database,
        String schema,
        String table,
        Long lsn,
        Long txid,
        String channel,
        JsonNode data,
        String skip,
        String routes) {

    /** An event without a skip marker, not yet routed. */
    public CanonicalEvent(String id, String source, Op op, String subject, String time, String database, String schema, String table, Long lsn,
            Long txid, String channel, JsonNode data) {
        this(id, source, op, subject, time, database, schema, table, lsn, txid, channel, data, null, null);
    }

    /** An event not yet routed. */
    public CanonicalEvent(String id, String source, Op op, String subject, String time, String database, String schema, String table, Long lsn,
            Long txid, String channel, JsonNode data, String skip) {
        this(id, source, op, subject, time, database, schema, table, lsn, txid, channel, data, skip, null);
    }

    /**
     * The same event marked as part of a transaction that said {@code pg_logical_emit_message(true, 'pgrouter.skip', reason)}:
     * extension {@code pgskip} and header {@code pgSkip} carry the reason, so a route can drop a migration's flood.
     */
    public CanonicalEvent withSkip(String reason) {
        return new CanonicalEvent(id, source, op, subject, time, database, schema, table, lsn, txid, channel, data, reason, routes);
    }

    /**
     * The same event stamped with the version of the route set that routes it (extension {@code pgroutes}, header
     * {@code pgRoutes}: the first 12 hex digits of a SHA-256 over the route files), so a user sees when a change of the
     * routes took effect. The event itself when it already carries that version.
     */
    public CanonicalEvent withRoutes(String version) {
        if (java.util.Objects.equals(version, routes)) return this;
        return new CanonicalEvent(id, source, op, subject, time, database, schema, table, lsn, txid, channel, data, skip, version);
    }

    public static final ObjectMapper JSON = new ObjectMapper()
            .enable(JsonGenerator.Feature.WRITE_BIGDECIMAL_AS_PLAIN)
            .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS);

    public String type() {
        return op.ceType();
    }

    /** The table as {@code schema.table}, or null for notifications and messages. */
    public String qualifiedTable() {
        if (table == null) return null;
        // several times per event (metrics, sinks): one String per table, not per call
        return QUALIFIED.computeIfAbsent(schema, k -> new java.util.concurrent.ConcurrentHashMap<>()).computeIfAbsent(table, t -> schema + "." + t);
    }

    private static final Map<String, Map<String, String>> QUALIFIED = new java.util.concurrent.ConcurrentHashMap<>();

    public String lsnText() {
        return lsn == null ? null : formatLsn(lsn);
    }

    public ObjectNode toJsonNode() {
        ObjectNode n = JSON.createObjectNode();
        n.put("specversion", "1.0");
        n.put("id", id);
        n.put("source", source);
        n.put("type", type());
        if (subject != null) n.put("subject", subject);
        if (time != null) n.put("time", time);
        n.put("datacontenttype", "application/json");
        n.put("pgdatabase", database);
        if (schema != null) n.put("pgschema", schema);
        if (table != null) n.put("pgtable", table);
        n.put("pgop", op.wire());
        if (lsn != null) n.put("pglsn", lsnText());
        if (txid != null) n.put("pgtxid", txid);
        if (channel != null) n.put("pgchannel", channel);
        if (skip != null) n.put("pgskip", skip);
        if (routes != null) n.put("pgroutes", routes);
        n.set("data", data);
        return n;
    }

    /**
     * The event's JSON, the same text as {@code JSON.writeValueAsString(toJsonNode())}, written straight to a generator
     * (once per event on the WAL path: building the envelope tree and Jackson's serializer set-up per call were ~20 %
     * of it in a profile).
     */
    public String toJson() {
        StringWriter out = new StringWriter(256);
        try (JsonGenerator g = JSON.getFactory().createGenerator(out)) {
            write(g);
        } catch (IOException e) {
            throw new IllegalStateException("cannot write event " + id, e);
        }
        return out.toString();
    }

    /** Writes the event's JSON object ({@link #toJson()}) to a generator: a text writer, or Jackson's own conversions. */
    public void write(JsonGenerator g) throws IOException {
        g.writeStartObject();
        g.writeStringField("specversion", "1.0");
        g.writeStringField("id", id);
        g.writeStringField("source", source);
        g.writeStringField("type", type());
        if (subject != null) g.writeStringField("subject", subject);
        if (time != null) g.writeStringField("time", time);
        g.writeStringField("datacontenttype", "application/json");
        g.writeStringField("pgdatabase", database);
        if (schema != null) g.writeStringField("pgschema", schema);
        if (table != null) g.writeStringField("pgtable", table);
        g.writeStringField("pgop", op.wire());
        if (lsn != null) g.writeStringField("pglsn", lsnText());
        if (txid != null) g.writeNumberField("pgtxid", txid);
        if (channel != null) g.writeStringField("pgchannel", channel);
        if (skip != null) g.writeStringField("pgskip", skip);
        if (routes != null) g.writeStringField("pgroutes", routes);
        g.writeFieldName("data");
        if (data == null) g.writeNull();
        else JsonTrees.write(g, data);
        g.writeEndObject();
    }

    /**
     * The context attributes, everything of {@link #toJson()} but {@code data}, in the same order and as the same text
     * a streaming read of that JSON gives (the message sinks send them as {@code ce_*} properties).
     */
    public Map<String, String> attributes() {
        Map<String, String> a = new LinkedHashMap<>();
        a.put("specversion", "1.0");
        a.put("id", id);
        a.put("source", source);
        a.put("type", type());
        putIfSet(a, "subject", subject);
        putIfSet(a, "time", time);
        a.put("datacontenttype", "application/json");
        a.put("pgdatabase", database);
        putIfSet(a, "pgschema", schema);
        putIfSet(a, "pgtable", table);
        a.put("pgop", op.wire());
        putIfSet(a, "pglsn", lsnText());
        putIfSet(a, "pgtxid", txid == null ? null : txid.toString());
        putIfSet(a, "pgchannel", channel);
        putIfSet(a, "pgskip", skip);
        putIfSet(a, "pgroutes", routes);
        return a;
    }

    /** The Camel headers routes filter on (DESIGN.md); absent facts are left out. */
    public Map<String, Object> headers() {
        Map<String, Object> h = new LinkedHashMap<>();
        putHeaders(h);
        return h;
    }

    /** Puts {@link #headers()} into {@code h} (a Camel message's own map: no copy per event). */
    public void putHeaders(Map<String, Object> h) {
        h.put("pgDatabase", database);
        putIfSet(h, "pgSchema", schema);
        putIfSet(h, "pgTable", table);
        h.put("pgOp", op.wire());
        putIfSet(h, "pgLsn", lsnText());
        putIfSet(h, "pgTxId", txid);
        putIfSet(h, "pgChannel", channel);
        putIfSet(h, "pgChanged", changedColumns());
        putIfSet(h, "pgSkip", skip);
        putIfSet(h, "pgRoutes", routes);
        h.put("ceId", id);
        h.put("ceType", type());
        h.put("ceSource", source);
        putIfSet(h, "ceSubject", subject);
        putIfSet(h, "ceTime", time);
    }

    /** The changed columns of a row event as {@code col,col} (in table order), for Simple filters; null for other events. */
    String changedColumns() {
        JsonNode changed = data == null ? null : data.get("changed");
        if (changed == null || !changed.isArray()) return null;
        // inserts of a table all change the same columns: the last text is reused when the list is equal
        Changed last = lastChanged;
        if (last.columns().equals(changed)) return last.text();
        StringBuilder s = new StringBuilder();
        for (JsonNode column : changed) {
            if (s.length() > 0) s.append(',');
            s.append(column.asText());
        }
        lastChanged = new Changed(changed.deepCopy(), s.toString());
        return lastChanged.text();
    }

    private record Changed(JsonNode columns, String text) {
    }

    private static volatile Changed lastChanged = new Changed(JSON.createArrayNode(), "");

    private static <V> void putIfSet(Map<String, V> h, String key, V value) {
        if (value != null) h.put(key, value);
    }

    /** The event back from its JSON form (as stored in the dead-letter store). */
    public static CanonicalEvent fromJson(String json) throws JsonProcessingException {
        return fromJson(JSON.readTree(json));
    }

    /** The event back from its JSON tree (a CloudEvent read from Kafka); {@code id}, {@code source} and {@code pgop} must be there. */
    public static CanonicalEvent fromJson(JsonNode n) {
        return new CanonicalEvent(n.get("id").asText(), n.get("source").asText(), Op.fromWire(n.get("pgop").asText()),
                text(n, "subject"), text(n, "time"), text(n, "pgdatabase"), text(n, "pgschema"), text(n, "pgtable"),
                n.hasNonNull("pglsn") ? parseLsn(n.get("pglsn").asText()) : null, n.hasNonNull("pgtxid") ? n.get("pgtxid").asLong() : null,
                text(n, "pgchannel"), n.get("data"), text(n, "pgskip"), text(n, "pgroutes"));
    }

    private static String text(JsonNode n, String field) {
        return n.hasNonNull(field) ? n.get(field).asText() : null;
    }

    public static long parseLsn(String lsn) {
        int slash = lsn.indexOf('/');
        return (Long.parseLong(lsn.substring(0, slash), 16) << 32) | Long.parseLong(lsn.substring(slash + 1), 16);
    }

    /** PostgreSQL's textual LSN form, e.g. {@code 0/16B3748}. */
    /** PostgreSQL's text form of an LSN, {@code 16/B374D848}: upper-case hex without leading zeros (several times per event). */
    public static String formatLsn(long lsn) {
        StringBuilder text = new StringBuilder(17);
        hex(text, lsn >>> 32);
        text.append('/');
        hex(text, lsn & 0xFFFFFFFFL);
        return text.toString();
    }

    private static void hex(StringBuilder text, long value) {
        for (int shift = value == 0 ? 0 : (63 - Long.numberOfLeadingZeros(value)) / 4 * 4; shift >= 0; shift -= 4) {
            text.append(Character.toUpperCase(Character.forDigit((int) (value >>> shift) & 0xF, 16)));
        }
    }

    public static String rowSource(String database, String schema, String table) {
        return "/postgres/" + database + "/" + schema + "." + table;
    }
}
