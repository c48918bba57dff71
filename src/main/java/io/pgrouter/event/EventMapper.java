package io.pgrouter.event;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import org.apache.kafka.connect.data.Field;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.source.SourceRecord;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;

/**
 * Maps what each source hands over (a Debezium record, a NOTIFY payload, a logical-decoding message) to the
 * {@link CanonicalEvent}. The one place that knows Debezium's value encodings and our trigger's payload.
 */
public final class EventMapper {

    /** Debezium's stand-in for an unchanged TOAST value PostgreSQL did not send. */
    public static final String UNAVAILABLE = "__debezium_unavailable_value";
    /** Prefix of the logical-decoding messages the router's own heartbeat writes; never routed. */
    public static final String HEARTBEAT_PREFIX = "pgrouter.heartbeat";
    /** Marker field of the payload our SQL triggers emit (sql/pgrouter.sql). */
    public static final String TRIGGER_MARKER = "pgrouter";

    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    /** The replica identity of a table as the WAL source read it from the catalogue, or null when not known. */
    @FunctionalInterface
    public interface ReplicaIdentities {
        ReplicaIdentity of(String schema, String table);
    }

    private final String database;
    private final ReplicaIdentities identities;

    /** A mapper that knows no table's replica identity: old values are trimmed to the key columns Debezium reports. */
    public EventMapper(String database) {
        this(database, (schema, table) -> null);
    }

    public EventMapper(String database, ReplicaIdentities identities) {
        this.database = database;
        this.identities = identities;
    }

    // ---------------------------------------------------------------- Debezium (WAL)

    /**
     * The events of a Debezium record: one for a row change or a message, one per row for a message of the durable trigger
     * per statement, none for heartbeats, transaction markers and tombstones.
     */
    public List<CanonicalEvent> fromDebezium(SourceRecord record) {
        if (!(record.value() instanceof Struct value)) return List.of();
        EnvelopeFields envelope = envelopeFields(value.schema());
        if (envelope.op() == null) return List.of();
        String op = (String) value.get(envelope.op());
        Struct source = (Struct) get(value, envelope.source());
        SourceFields fields = source == null ? null : sourceFields(source.schema());
        Long lsn = source == null ? null : (Long) get(source, fields.lsn());
        Long txid = source == null ? null : (Long) get(source, fields.txId());
        String time = commitTime(commitMicros(source, fields, value, envelope));
        if ("m".equals(op)) {
            return message(value.getStruct("message"), lsn, txid, time);
        }
        String schema = (String) get(source, fields.schemaName());
        String table = (String) get(source, fields.table());
        Op kind = switch (op) {
            case "c" -> Op.INSERT;
            case "u" -> Op.UPDATE;
            case "d" -> Op.DELETE;
            case "r" -> Op.SNAPSHOT;
            case "t" -> Op.TRUNCATE;
            default -> throw new IllegalArgumentException("unknown Debezium op '" + op + "' on " + schema + "." + table);
        };
        ObjectNode before = row(value, envelope.before());
        ObjectNode after = row(value, envelope.after());
        Struct key = record.key() instanceof Struct k ? k : null;
        String subject = key != null ? subject(structToJson(key)) : null;
        boolean oldRowComplete = true;
        if (before != null) {
            // Debezium fills the columns PostgreSQL did not send as old values with placeholders ("", 0, epoch): keep only
            // those it sent, the identity's columns, unless the table has REPLICA IDENTITY FULL
            ReplicaIdentity identity = identities.of(schema, table);
            List<String> sent = identity != null ? identity.columns() : key != null ? fieldNames(key) : null;
            oldRowComplete = identity != null ? identity.full() : sent == null;
            if (!oldRowComplete) {
                before = only(before, sent);
                // an identity index without the primary key: a delete does not know the key, so no subject is invented
                if (kind == Op.DELETE && key != null && !sent.containsAll(fieldNames(key))) subject = null;
            }
        }
        String idTail = kind == Op.TRUNCATE ? "truncate" : subject != null ? subject : rowHash(before, after);
        String id = database + ":" + CanonicalEvent.formatLsn(lsn == null ? 0 : lsn) + ":" + schema + "." + table + ":" + idTail;
        return List.of(new CanonicalEvent(id, CanonicalEvent.rowSource(database, schema, table), kind, subject, time,
                database, schema, table, lsn, txid, null, rowData(kind, before, after, oldRowComplete)));
    }

    private static List<String> fieldNames(Struct struct) {
        List<String> names = new ArrayList<>();
        for (Field f : struct.schema().fields()) names.add(f.name());
        return names;
    }

    private static ObjectNode only(ObjectNode row, List<String> columns) {
        ObjectNode kept = NODES.objectNode();
        for (String column : columns) {
            JsonNode value = row.get(column);
            if (value != null) kept.set(column, value);
        }
        return kept;
    }

    /*
     * Fields by handle, not by name: Debezium reuses one envelope and one source schema object per table, and looking
     * every field up by name (getString("op"), getInt64("lsn")...: a dozen hash lookups per event) was ~8 % of the
     * routing thread in a profile. One slot per kind for the last schema seen; a miss only costs the lookups.
     */
    private record EnvelopeFields(Schema schema, Field op, Field source, Field before, Field after, Field tsMs) {
        static EnvelopeFields of(Schema s) {
            return new EnvelopeFields(s, s.field("op"), s.field("source"), s.field("before"), s.field("after"), s.field("ts_ms"));
        }
    }

    private record SourceFields(Schema schema, Field lsn, Field txId, Field tsUs, Field tsMs, Field schemaName, Field table) {
        static SourceFields of(Schema s) {
            return new SourceFields(s, s.field("lsn"), s.field("txId"), s.field("ts_us"), s.field("ts_ms"), s.field("schema"), s.field("table"));
        }
    }

    private volatile EnvelopeFields lastEnvelope;
    private volatile SourceFields lastSource;

    private EnvelopeFields envelopeFields(Schema schema) {
        EnvelopeFields f = lastEnvelope;
        if (f == null || f.schema() != schema) lastEnvelope = f = EnvelopeFields.of(schema);
        return f;
    }

    private SourceFields sourceFields(Schema schema) {
        SourceFields f = lastSource;
        if (f == null || f.schema() != schema) lastSource = f = SourceFields.of(schema);
        return f;
    }

    private static Object get(Struct struct, Field field) {
        return field == null ? null : struct.get(field);
    }

    private List<CanonicalEvent> message(Struct message, Long lsn, Long txid, String time) {
        String prefix = message.getString("prefix");
        if (prefix.startsWith(HEARTBEAT_PREFIX)) {
            return List.of();
        }
        Object content = message.get("content");
        String text = new String(bytes(content), StandardCharsets.UTF_8);
        String id = database + ":" + CanonicalEvent.formatLsn(lsn == null ? 0 : lsn) + ":message:" + prefix;
        JsonNode payload = parseOrText(text);
        if (isStatementPayload(payload)) {
            return statementEvents((ObjectNode) payload, id, lsn, txid, time, prefix);
        }
        if (isTriggerPayload(payload)) {
            // the durable trigger: a row change carried in a message; its position and commit time come from the WAL,
            // and its key from the key columns it names (the trigger leaves that work to the router: writers pay less)
            ObjectNode p = (ObjectNode) payload;
            if (!p.has("key") && p.has("key_columns")) {
                p.set("key", key(namedKeyColumns(p), p.hasNonNull("after") ? p.get("after") : p.path("before")));
            }
            return List.of(triggerEvent(p, id, lsn, txid, time, prefix));
        }
        return List.of(new CanonicalEvent(id, "/postgres/" + database + "/message/" + prefix, Op.MESSAGE, null, time,
                database, null, null, lsn, txid, prefix, payload));
    }

    /** True for a message of the durable trigger per statement (pgrouter.emit_changes): the rows of one statement. */
    public static boolean isStatementPayload(JsonNode payload) {
        return isTriggerPayload(payload) && payload.get("rows") instanceof ArrayNode;
    }

    /**
     * One event per row of a statement's message, each as the row-level trigger's message would have given it; the
     * message's id with the row's position in it ({@code :1}, {@code :2}, ...) keeps each row's id unique and stable.
     */
    private List<CanonicalEvent> statementEvents(ObjectNode p, String id, Long lsn, Long txid, String time, String prefix) {
        List<String> keyColumns = namedKeyColumns(p);
        ArrayNode rows = (ArrayNode) p.get("rows");
        List<CanonicalEvent> events = new ArrayList<>(rows.size());
        for (int i = 0; i < rows.size(); i++) {
            JsonNode row = rows.get(i);
            ObjectNode one = NODES.objectNode();
            one.set("schema", p.get("schema"));
            one.set("table", p.get("table"));
            one.set("op", p.get("op"));
            one.set("txid", p.get("txid"));
            one.set("key", key(keyColumns, row.hasNonNull("after") ? row.get("after") : row.path("before")));
            one.set("before", row.get("before"));
            one.set("after", row.get("after"));
            events.add(triggerEvent(one, id + ":" + (i + 1), lsn, txid, time, prefix));
        }
        return events;
    }

    /** A trigger message's key columns: a JSON array, or the comma-separated text the row trigger passes on as it got it. */
    private static List<String> namedKeyColumns(ObjectNode p) {
        JsonNode named = p.path("key_columns");
        List<String> columns = new ArrayList<>();
        if (named.isTextual()) {
            for (String column : named.asText().split(",")) if (!column.isBlank()) columns.add(column.strip());
        } else {
            named.forEach(k -> columns.add(k.asText()));
        }
        return columns;
    }

    /** The key of a row, in the key columns' order (a column the row lacks is null). */
    private static ObjectNode key(List<String> keyColumns, JsonNode values) {
        ObjectNode key = NODES.objectNode();
        for (String column : keyColumns) key.set(column, values.path(column).isMissingNode() ? NullNode.instance : values.get(column));
        return key;
    }

    private static Long commitMicros(Struct source, SourceFields fields, Struct value, EnvelopeFields envelope) {
        Long micros = source == null ? null : (Long) get(source, fields.tsUs());
        if (micros == null && source != null) {
            Long ms = (Long) get(source, fields.tsMs());
            micros = ms == null ? null : ms * 1000;
        }
        if (micros == null) {
            Long ms = (Long) get(value, envelope.tsMs());
            micros = ms == null ? null : ms * 1000;
        }
        return micros;
    }

    private static String commitTime(Long micros) {
        return micros == null ? null : CommitTimes.format(micros);
    }

    private static ObjectNode row(Struct value, Field field) {
        Struct row = (Struct) get(value, field);
        return row == null ? null : structToJson(row);
    }

    /**
     * {@code before}, {@code after} and {@code changed}. An update's {@code changed} is null (unknown) unless
     * {@code oldRowComplete}: without the whole old row (REPLICA IDENTITY FULL) nothing says which columns differ.
     */
    static ObjectNode rowData(Op kind, ObjectNode before, ObjectNode after, boolean oldRowComplete) {
        ObjectNode data = NODES.objectNode();
        data.set("before", before == null ? NullNode.instance : before);
        data.set("after", after == null ? NullNode.instance : after);
        if (kind == Op.UPDATE && (before == null || !oldRowComplete)) {
            data.set("changed", NullNode.instance);
            return data;
        }
        ArrayNode changed = data.putArray("changed");
        if (after != null && (kind == Op.INSERT || kind == Op.SNAPSHOT || kind == Op.UPDATE)) {
            Iterator<Map.Entry<String, JsonNode>> it = after.fields();
            while (it.hasNext()) {
                Map.Entry<String, JsonNode> column = it.next();
                if (kind != Op.UPDATE || !column.getValue().equals(before.get(column.getKey()))) {
                    changed.add(column.getKey());
                }
            }
        }
        return data;
    }

    /** {@code value} for a one-column key, {@code col=value,col=value} for a composite key. */
    static String subject(ObjectNode key) {
        if (key == null || key.isEmpty()) return null;
        if (key.size() == 1) return text(key.elements().next());
        StringBuilder s = new StringBuilder();
        key.fields().forEachRemaining(e -> {
            if (s.length() > 0) s.append(',');
            s.append(e.getKey()).append('=').append(text(e.getValue()));
        });
        return s.toString();
    }

    private static String text(JsonNode node) {
        return node.isValueNode() ? node.asText() : node.toString();
    }

    private static String rowHash(ObjectNode before, ObjectNode after) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update(String.valueOf(before).getBytes(StandardCharsets.UTF_8));
            sha.update(String.valueOf(after).getBytes(StandardCharsets.UTF_8));
            return "row-" + HexFormat.of().formatHex(sha.digest(), 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static ObjectNode structToJson(Struct struct) {
        ObjectNode node = NODES.objectNode();
        for (Field f : struct.schema().fields()) {
            Object raw = struct.get(f);
            if (isUnavailable(raw)) continue; // unchanged TOAST: absent, never passed on as a value
            node.set(f.name(), toJson(f.schema(), raw));
        }
        return node;
    }

    private static boolean isUnavailable(Object raw) {
        if (raw instanceof String s) return s.equals(UNAVAILABLE);
        if (raw instanceof ByteBuffer b) return StandardCharsets.UTF_8.decode(b.duplicate()).toString().equals(UNAVAILABLE);
        if (raw instanceof byte[] b) return new String(b, StandardCharsets.UTF_8).equals(UNAVAILABLE);
        if (raw instanceof List<?> l) return l.size() == 1 && isUnavailable(l.get(0));
        return false;
    }

    /** A Kafka Connect value as JSON, decoding Debezium's logical types to what {@code to_jsonb} would show. */
    static JsonNode toJson(Schema schema, Object value) {
        if (value == null) return NullNode.instance;
        String logical = schema.name();
        if (logical != null) {
            switch (logical) {
                case "org.apache.kafka.connect.data.Decimal":
                    return NODES.numberNode((BigDecimal) value);
                case "io.debezium.data.VariableScaleDecimal": {
                    Struct s = (Struct) value;
                    byte[] bytes = bytes(s.get("value"));
                    return NODES.numberNode(new BigDecimal(new BigInteger(bytes), s.getInt32("scale")));
                }
                case "io.debezium.data.Json":
                    return parseOrText((String) value);
                case "io.debezium.time.Date":
                    return TextNode.valueOf(LocalDate.ofEpochDay(((Number) value).longValue()).toString());
                case "io.debezium.time.Timestamp":
                    return TextNode.valueOf(localDateTime(((Number) value).longValue() * 1_000_000L));
                case "io.debezium.time.MicroTimestamp":
                    return TextNode.valueOf(localDateTime(((Number) value).longValue() * 1_000L));
                case "io.debezium.time.NanoTimestamp":
                    return TextNode.valueOf(localDateTime(((Number) value).longValue()));
                case "io.debezium.time.Time":
                    return TextNode.valueOf(LocalTime.ofNanoOfDay(((Number) value).longValue() * 1_000_000L).toString());
                case "io.debezium.time.MicroTime":
                    return TextNode.valueOf(LocalTime.ofNanoOfDay(((Number) value).longValue() * 1_000L).toString());
                case "io.debezium.time.NanoTime":
                    return TextNode.valueOf(LocalTime.ofNanoOfDay(((Number) value).longValue()).toString());
                case "org.apache.kafka.connect.data.Timestamp":
                    return TextNode.valueOf(((java.util.Date) value).toInstant().toString());
                case "org.apache.kafka.connect.data.Date":
                    return TextNode.valueOf(((java.util.Date) value).toInstant().atOffset(ZoneOffset.UTC).toLocalDate().toString());
                default:
                    break; // ZonedTimestamp, Uuid, Interval, Xml, ... are already strings; structs fall through
            }
        }
        switch (schema.type()) {
            case STRUCT:
                return structToJson((Struct) value);
            case ARRAY: {
                ArrayNode array = NODES.arrayNode();
                for (Object item : (List<?>) value) array.add(toJson(schema.valueSchema(), item));
                return array;
            }
            case MAP: {
                ObjectNode map = NODES.objectNode();
                ((Map<?, ?>) value).forEach((k, v) -> map.set(String.valueOf(k), toJson(schema.valueSchema(), v)));
                return map;
            }
            case BYTES:
                return TextNode.valueOf("\\x" + HexFormat.of().formatHex(bytes(value)));
            case BOOLEAN:
                return NODES.booleanNode((Boolean) value);
            case INT8:
            case INT16:
            case INT32:
            case INT64:
                return NODES.numberNode(((Number) value).longValue());
            case FLOAT32:
            case FLOAT64: {
                double d = ((Number) value).doubleValue();
                return Double.isFinite(d) ? NODES.numberNode(d) : TextNode.valueOf(Double.toString(d));
            }
            default:
                return TextNode.valueOf(String.valueOf(value));
        }
    }

    private static String localDateTime(long epochNanos) {
        return LocalDateTime.ofEpochSecond(Math.floorDiv(epochNanos, 1_000_000_000L), (int) Math.floorMod(epochNanos, 1_000_000_000L),
                ZoneOffset.UTC).toString();
    }

    private static byte[] bytes(Object value) {
        if (value instanceof byte[] b) return b;
        ByteBuffer buffer = ((ByteBuffer) value).duplicate();
        byte[] b = new byte[buffer.remaining()];
        buffer.get(b);
        return b;
    }

    // ---------------------------------------------------------------- NOTIFY

    /**
     * The event for a notification. Our trigger's payload becomes a row event (claim-check payloads are
     * completed by the caller first, see {@link #isClaimCheck}); any other text becomes a {@code postgres.notify}
     * event whose data is the payload, as JSON when it parses.
     */
    public CanonicalEvent fromNotify(String channel, String payload) {
        JsonNode parsed = parseOrText(payload);
        if (isTriggerPayload(parsed)) {
            ObjectNode p = (ObjectNode) parsed;
            String id = p.path("id").asText(null);
            Long txid = p.hasNonNull("txid") ? p.get("txid").asLong() : null;
            String time = p.hasNonNull("time") ? normaliseTime(p.get("time").asText()) : Instant.now().toString();
            return triggerEvent(p, database + ":notify:" + channel + ":" + id, null, txid, time, channel);
        }
        String id = database + ":notify:" + channel + ":" + UUID.randomUUID();
        return new CanonicalEvent(id, "/postgres/" + database + "/notify/" + channel, Op.NOTIFY, null, Instant.now().toString(),
                database, null, null, null, null, channel, parsed);
    }

    /** True when the trigger sent only the key because the row was over NOTIFY's 8000-byte limit. */
    public static boolean isClaimCheck(JsonNode payload) {
        return isTriggerPayload(payload) && payload.path("claim").asBoolean(false);
    }

    public static boolean isTriggerPayload(JsonNode payload) {
        return payload instanceof ObjectNode o && o.has(TRIGGER_MARKER) && o.hasNonNull("table") && o.hasNonNull("op");
    }

    private CanonicalEvent triggerEvent(ObjectNode p, String id, Long lsn, Long txid, String time, String channel) {
        String schema = p.path("schema").asText("public");
        String table = p.get("table").asText();
        Op op = Op.fromWire(p.get("op").asText());
        ObjectNode before = p.get("before") instanceof ObjectNode b ? b : null;
        ObjectNode after = p.get("after") instanceof ObjectNode a ? a : null;
        String subject = subject(p.get("key") instanceof ObjectNode k ? k : null);
        Long tx = txid != null ? txid : p.hasNonNull("txid") ? p.get("txid").asLong() : null;
        return new CanonicalEvent(id, CanonicalEvent.rowSource(database, schema, table), op, subject, time,
                database, schema, table, lsn, tx, channel, rowData(op, before, after, true)); // the trigger sends the whole OLD row
    }

    public static JsonNode parseOrText(String text) {
        if (text == null) return NullNode.instance;
        String t = text.trim();
        if (!t.isEmpty() && (t.charAt(0) == '{' || t.charAt(0) == '[' || t.charAt(0) == '"' || Character.isDigit(t.charAt(0))
                || t.charAt(0) == '-' || t.equals("true") || t.equals("false") || t.equals("null"))) {
            try {
                return CanonicalEvent.JSON.readTree(t);
            } catch (JsonProcessingException e) {
                // not JSON after all: the payload stays a string
            }
        }
        return TextNode.valueOf(text);
    }

    /** PostgreSQL's {@code to_json(timestamptz)} text as RFC 3339 in UTC. */
    static String normaliseTime(String pgTime) {
        try {
            return java.time.OffsetDateTime.parse(pgTime).toInstant().toString();
        } catch (RuntimeException e) {
            return pgTime;
        }
    }

    public String database() {
        return database;
    }

    /** Column names of a key object, in order (for the claim-check query). */
    public static List<String> keyColumns(ObjectNode key) {
        List<String> names = new ArrayList<>();
        key.fieldNames().forEachRemaining(names::add);
        return names;
    }
}
