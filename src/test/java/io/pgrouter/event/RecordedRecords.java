package io.pgrouter.event;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.apache.kafka.connect.data.SchemaAndValue;
import org.apache.kafka.connect.json.JsonConverter;
import org.apache.kafka.connect.source.SourceRecord;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Debezium records as the WAL source received them from a real PostgreSQL, stored with Kafka Connect's own
 * JsonConverter (schemas included) by {@link RecordFixtures}, and read back into {@link SourceRecord}s.
 */
public final class RecordedRecords {

    static final JsonConverter CONVERTER = new JsonConverter();

    static {
        CONVERTER.configure(Map.of("schemas.enable", "true", "decimal.format", "NUMERIC", "converter.type", "value"));
    }

    private RecordedRecords() {
    }

    public static String toLine(SourceRecord r) {
        byte[] key = r.keySchema() == null && r.key() == null ? null : CONVERTER.fromConnectData(r.topic(), r.keySchema(), r.key());
        byte[] value = CONVERTER.fromConnectData(r.topic(), r.valueSchema(), r.value());
        return CanonicalEvent.JSON.createObjectNode().put("topic", r.topic())
                .put("key", key == null ? null : new String(key, StandardCharsets.UTF_8))
                .put("value", new String(value, StandardCharsets.UTF_8)).toString();
    }

    public static List<SourceRecord> load(String resource) throws IOException {
        List<SourceRecord> records = new ArrayList<>();
        try (InputStream in = RecordedRecords.class.getResourceAsStream(resource)) {
            if (in == null) throw new IOException(resource + " is missing");
            for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                if (line.isBlank()) continue;
                JsonNode n = CanonicalEvent.JSON.readTree(line);
                String topic = n.get("topic").asText();
                SchemaAndValue key = n.get("key").isNull() ? SchemaAndValue.NULL
                        : CONVERTER.toConnectData(topic, n.get("key").asText().getBytes(StandardCharsets.UTF_8));
                SchemaAndValue value = CONVERTER.toConnectData(topic, n.get("value").asText().getBytes(StandardCharsets.UTF_8));
                records.add(new SourceRecord(Map.of(), Map.of(), topic, key.schema(), key.value(), value.schema(), value.value()));
            }
        }
        return records;
    }
}
