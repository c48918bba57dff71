package io.pgrouter.sink.datalake;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.ZoneOffset;
import java.util.Base64;
import java.util.zip.GZIPInputStream;

import org.apache.avro.LogicalType;
import org.apache.avro.LogicalTypes;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericRecord;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.pgrouter.delivery.DryRun;

/**
 * The lake's storage in a dry run: a committed file goes to the capture with its partition path and its rows (JSON
 * Lines uncompressed for reading; Parquet as the rows handed to its writer, typed as the file's schema has them, one
 * per line as JSON); nothing is written. The file's own
 * name (start time and a random id) is shown as {@code part-*}, so a report is the same on every run.
 */
final class CapturedFiles implements LakeStorage {

    private final String target;

    CapturedFiles(String target) {
        this.target = target;
    }

    @Override
    public Staged create(String key) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        StringBuilder parquetRows = new StringBuilder();
        return new Staged() {
            @Override
            public void write(int b) {
                bytes.write(b);
            }

            @Override
            public void write(byte[] b, int off, int len) {
                bytes.write(b, off, len);
            }

            @Override
            long written() {
                return bytes.size();
            }

            @Override
            void parquetRow(GenericRecord row) {
                try {
                    parquetRows.append(JSON.writeValueAsString(json(row, row.getSchema()))).append('\n');
                } catch (JsonProcessingException e) {
                    throw new IllegalStateException(e);
                }
            }

            @Override
            void commit() throws IOException {
                DryRun.sent(DatalakeConfig.SINK, describe(key, bytes.toByteArray(), parquetRows.toString()));
            }

            @Override
            void abort() {
                // nothing was written anywhere
            }
        };
    }

    String describe(String key, byte[] content, String parquetRows) throws IOException {
        String name = key.substring(key.lastIndexOf('/') + 1);
        String shown = key.substring(0, key.length() - name.length()) + "part-*" + name.substring(name.indexOf('.'));
        StringBuilder text = new StringBuilder("file: ").append(target).append(target.endsWith("/") ? "" : "/").append(shown).append('\n');
        if (name.endsWith(".parquet")) return text.append('\n').append(parquetRows).toString();
        InputStream in = new ByteArrayInputStream(content);
        if (name.endsWith(".gz")) in = new GZIPInputStream(in);
        if (name.endsWith(".zst")) in = new com.github.luben.zstd.ZstdInputStream(in);
        try (InputStream rows = in) {
            return text.append('\n').append(new String(rows.readAllBytes(), StandardCharsets.UTF_8)).toString();
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    /** A value as a reader of the file sees it: decimals as numbers, times as ISO text, bytes as base64. */
    static JsonNode json(Object value, Schema schema) {
        JsonNodeFactory f = JsonNodeFactory.instance;
        if (value == null) return f.nullNode();
        if (schema.getType() == Schema.Type.UNION) {
            for (Schema branch : schema.getTypes()) if (branch.getType() != Schema.Type.NULL) return json(value, branch);
        }
        LogicalType logical = schema.getLogicalType();
        if (logical instanceof LogicalTypes.Decimal decimal) {
            ByteBuffer bytes = ((ByteBuffer) value).duplicate();
            byte[] unscaled = new byte[bytes.remaining()];
            bytes.get(unscaled);
            return f.numberNode(new BigDecimal(new BigInteger(unscaled), decimal.getScale()));
        }
        if (logical instanceof LogicalTypes.TimestampMicros) return f.textNode(micros((Long) value).toString());
        if (logical instanceof LogicalTypes.LocalTimestampMicros) return f.textNode(LocalDateTime.ofInstant(micros((Long) value), ZoneOffset.UTC).toString());
        if (logical instanceof LogicalTypes.Date) return f.textNode(LocalDate.ofEpochDay((Integer) value).toString());
        if (logical instanceof LogicalTypes.TimeMicros) return f.textNode(LocalTime.ofNanoOfDay((Long) value * 1000).toString());
        return switch (schema.getType()) {
            case RECORD -> {
                ObjectNode row = f.objectNode();
                for (Schema.Field field : schema.getFields()) row.set(field.name(), json(((GenericRecord) value).get(field.pos()), field.schema()));
                yield row;
            }
            case ARRAY -> {
                ArrayNode items = f.arrayNode();
                for (Object item : (Iterable<?>) value) items.add(json(item, schema.getElementType()));
                yield items;
            }
            case INT -> f.numberNode((Integer) value);
            case LONG -> f.numberNode((Long) value);
            case FLOAT -> f.numberNode((Float) value);
            case DOUBLE -> f.numberNode((Double) value);
            case BOOLEAN -> f.booleanNode((Boolean) value);
            case BYTES -> {
                ByteBuffer bytes = ((ByteBuffer) value).duplicate();
                byte[] raw = new byte[bytes.remaining()];
                bytes.get(raw);
                yield f.textNode(Base64.getEncoder().encodeToString(raw));
            }
            default -> f.textNode(value.toString());
        };
    }

    private static Instant micros(long micros) {
        return Instant.ofEpochSecond(Math.floorDiv(micros, 1_000_000L), Math.floorMod(micros, 1_000_000L) * 1000);
    }

    @Override
    public String describe() {
        return target + " (dry run: nothing written)";
    }
}
