package io.pgrouter.sink.datalake;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.apache.avro.LogicalTypes;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;

import com.fasterxml.jackson.databind.JsonNode;

import io.pgrouter.event.CanonicalEvent;

/**
 * A Parquet schema (as Avro, for parquet-avro) for one table's rows, and the conversion of event values (rendered
 * as {@code to_jsonb} shows them, see EventMapper) to the column types: integers, numeric(p,s) as DECIMAL(p,s),
 * booleans, text, date, time, timestamp (local) and timestamptz (UTC) in microseconds, uuid as UUID, bytea as
 * binary, json/jsonb as JSON text, one-dimensional arrays as lists. Every column is optional.
 */
final class ParquetRows {

    private final Schema schema;
    private final List<MetaField> meta;
    /** PostgreSQL column name → its type and Avro field position. */
    private final Map<String, Column> columns = new LinkedHashMap<>();

    private record Column(PgType type, int position) {
    }

    ParquetRows(String folder, Map<String, PgType> table, List<MetaField> meta) {
        this.meta = meta;
        List<Schema.Field> fields = new ArrayList<>();
        for (MetaField f : meta) fields.add(optional(f.column, metaType(f)));
        for (Map.Entry<String, PgType> c : table.entrySet()) {
            columns.put(c.getKey(), new Column(c.getValue(), fields.size()));
            fields.add(optional(avroName(c.getKey()), avroType(c.getValue())));
        }
        this.schema = Schema.createRecord(avroName(folder), null, null, false, fields);
    }

    Schema schema() {
        return schema;
    }

    /** True when the schema has every column the row carries. */
    boolean covers(LakeRow row) {
        var names = row.columns().fieldNames();
        while (names.hasNext()) if (!columns.containsKey(names.next())) return false;
        return true;
    }

    /** The row as a record; throws IllegalArgumentException naming the column when a value does not fit its type. */
    GenericRecord record(LakeRow row) {
        GenericData.Record record = new GenericData.Record(schema);
        CanonicalEvent e = row.event();
        for (int i = 0; i < meta.size(); i++) {
            record.put(i, switch (meta.get(i)) {
                case EVENT_ID -> e.id();
                case OP -> e.op().wire();
                case LSN -> e.lsn();
                case COMMIT_TIME -> e.time() == null ? null : micros(io.pgrouter.event.CommitTimes.parse(e.time()));
                case SUBJECT -> e.subject();
                case TXID -> e.txid();
                case CHANGED -> changed(e);
                case UNCHANGED -> row.unchanged();
            });
        }
        var it = row.columns().fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> value = it.next();
            Column column = columns.get(value.getKey());
            if (column == null) continue; // callers check covers() first
            try {
                record.put(column.position, value(column.type, value.getValue()));
            } catch (RuntimeException ex) {
                throw new IllegalArgumentException("column " + value.getKey() + " of " + row.folder() + ": value " + abbreviate(value.getValue())
                        + " does not fit " + column.type + ": " + ex.getMessage(), ex);
            }
        }
        return record;
    }

    private static List<String> changed(CanonicalEvent e) {
        JsonNode changed = e.data() == null ? null : e.data().get("changed");
        if (changed == null || !changed.isArray()) return null;
        List<String> names = new ArrayList<>(changed.size());
        changed.forEach(n -> names.add(n.asText()));
        return names;
    }

    static Object value(PgType type, JsonNode v) {
        if (v == null || v.isNull()) return null;
        return switch (type.kind()) {
            case INT -> v.isNumber() ? v.intValue() : Integer.parseInt(v.asText());
            case LONG -> v.isNumber() ? v.longValue() : Long.parseLong(v.asText());
            case FLOAT -> v.isNumber() ? v.floatValue() : Float.parseFloat(v.asText());
            case DOUBLE -> v.isNumber() ? v.doubleValue() : Double.parseDouble(v.asText());
            case DECIMAL -> {
                BigDecimal d = (v.isNumber() ? v.decimalValue() : new BigDecimal(v.asText())).setScale(type.scale(), RoundingMode.UNNECESSARY);
                yield ByteBuffer.wrap(d.unscaledValue().toByteArray());
            }
            case BOOLEAN -> v.isBoolean() ? v.booleanValue() : switch (v.asText()) {
                case "t", "true" -> true;
                case "f", "false" -> false;
                default -> throw new IllegalArgumentException("not a boolean");
            };
            case TEXT, UUID -> v.isTextual() ? v.textValue() : v.toString();
            case JSON -> v.toString();
            case BYTES -> {
                String hex = v.asText();
                if (!hex.startsWith("\\x")) throw new IllegalArgumentException("bytea is not in hex form");
                yield ByteBuffer.wrap(HexFormat.of().parseHex(hex, 2, hex.length()));
            }
            case DATE -> (int) LocalDate.parse(v.asText()).toEpochDay();
            case TIME -> LocalTime.parse(v.asText()).toNanoOfDay() / 1000;
            case TIMESTAMP -> micros(LocalDateTime.parse(v.asText()).toInstant(ZoneOffset.UTC));
            case TIMESTAMPTZ -> micros(instant(v.asText()));
            case ARRAY -> {
                if (!v.isArray()) throw new IllegalArgumentException("not an array");
                List<Object> items = new ArrayList<>(v.size());
                for (JsonNode item : v) items.add(value(type.element(), item));
                yield items;
            }
        };
    }

    private static Instant instant(String text) {
        try {
            return Instant.parse(text);
        } catch (java.time.format.DateTimeParseException e) {
            return OffsetDateTime.parse(text).toInstant();
        }
    }

    private static long micros(Instant t) {
        return ChronoUnit.MICROS.between(Instant.EPOCH, t);
    }

    private static Schema.Field optional(String name, Schema type) {
        return new Schema.Field(name, Schema.createUnion(Schema.create(Schema.Type.NULL), type), null, Schema.Field.NULL_DEFAULT_VALUE);
    }

    private static Schema metaType(MetaField f) {
        return switch (f) {
            case EVENT_ID, OP, SUBJECT -> Schema.create(Schema.Type.STRING);
            case LSN, TXID -> Schema.create(Schema.Type.LONG);
            case COMMIT_TIME -> LogicalTypes.timestampMicros().addToSchema(Schema.create(Schema.Type.LONG));
            case CHANGED, UNCHANGED -> Schema.createArray(Schema.create(Schema.Type.STRING));
        };
    }

    static Schema avroType(PgType type) {
        return switch (type.kind()) {
            case INT -> Schema.create(Schema.Type.INT);
            case LONG -> Schema.create(Schema.Type.LONG);
            case FLOAT -> Schema.create(Schema.Type.FLOAT);
            case DOUBLE -> Schema.create(Schema.Type.DOUBLE);
            case DECIMAL -> LogicalTypes.decimal(type.precision(), type.scale()).addToSchema(Schema.create(Schema.Type.BYTES));
            case BOOLEAN -> Schema.create(Schema.Type.BOOLEAN);
            case TEXT, JSON -> Schema.create(Schema.Type.STRING);
            case UUID -> LogicalTypes.uuid().addToSchema(Schema.create(Schema.Type.STRING));
            case BYTES -> Schema.create(Schema.Type.BYTES);
            case DATE -> LogicalTypes.date().addToSchema(Schema.create(Schema.Type.INT));
            case TIME -> LogicalTypes.timeMicros().addToSchema(Schema.create(Schema.Type.LONG));
            case TIMESTAMP -> LogicalTypes.localTimestampMicros().addToSchema(Schema.create(Schema.Type.LONG));
            case TIMESTAMPTZ -> LogicalTypes.timestampMicros().addToSchema(Schema.create(Schema.Type.LONG));
            case ARRAY -> Schema.createArray(Schema.createUnion(Schema.create(Schema.Type.NULL), avroType(type.element())));
        };
    }

    /** Avro (and so Parquet) names: letters, digits and '_', not starting with a digit. */
    static String avroName(String name) {
        StringBuilder s = new StringBuilder(name.length());
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            s.append(c < 128 && (Character.isLetterOrDigit(c) || c == '_') ? c : '_');
        }
        if (s.isEmpty() || Character.isDigit(s.charAt(0))) s.insert(0, '_');
        return s.toString();
    }

    private static String abbreviate(JsonNode v) {
        String s = v.toString();
        return s.length() > 80 ? s.substring(0, 80) + "..." : s;
    }
}
