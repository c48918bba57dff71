package io.pgrouter.event;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.apache.kafka.connect.source.SourceRecord;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;

/** The mapper on records Debezium really produced (recorded by {@link RecordFixtures} from PostgreSQL 14). */
class EventMapperRecordedTest {

    static List<CanonicalEvent> events;

    @BeforeAll
    static void map() throws Exception {
        // the identities RecordFixtures gives the tables, as the WAL source reads them from the catalogue
        EventMapper mapper = new EventMapper("postgres", (schema, table) -> table.equals("keyless")
                ? new ReplicaIdentity(ReplicaIdentity.FULL, List.of()) : new ReplicaIdentity("DEFAULT", List.of("tenant", "code")));
        List<SourceRecord> records = RecordedRecords.load("/records/pg14-types.jsonl");
        events = records.stream().map(r -> mapper.fromDebezium(r).get(0)).toList();
    }

    @Test
    void theScriptBecomesOneEventPerChange() {
        assertThat(events).extracting(CanonicalEvent::type).containsExactly("postgres.row.insert", "postgres.row.update",
                "postgres.row.delete", "postgres.row.insert", "postgres.row.truncate", "postgres.message");
    }

    @Test
    void everyTypeIsDecodedToWhatPostgresShows() {
        CanonicalEvent insert = events.get(0);
        JsonNode after = insert.data().get("after");
        assertThat(after.get("amount").decimalValue()).isEqualByComparingTo("12345678901234.123456");
        assertThat(after.get("ratio").decimalValue()).isEqualByComparingTo("3.14159265358979323846");
        assertThat(after.get("big").asLong()).isEqualTo(9007199254740993L);
        assertThat(after.get("happened").asText()).isEqualTo("2026-01-02T01:04:05.123456Z");
        assertThat(after.get("local_ts").asText()).isEqualTo("2026-01-02T03:04:05.500");
        assertThat(after.get("day").asText()).isEqualTo("2026-01-02");
        assertThat(after.get("at_time").asText()).isEqualTo("03:04:05.250");
        assertThat(after.get("doc").toString()).isEqualTo("{\"k\":[1,2,{\"n\":null}],\"s\":\"x\"}");
        assertThat(after.get("tags").toString()).isEqualTo("[\"one\",\"two\",null]");
        assertThat(after.get("nums").toString()).isEqualTo("[1,2,3]");
        assertThat(after.get("uid").asText()).isEqualTo("8d2d3a36-6a57-4f44-9a4b-4c0e6c7b1a9e");
        assertThat(after.get("blob").asText()).isEqualTo("\\x0102ff");
        assertThat(after.get("empty").isNull()).isTrue();
        assertThat(after.get("long_text").asText()).hasSize(128_000);
        assertThat(insert.subject()).isEqualTo("tenant=7,code=a");
        assertThat(insert.source()).isEqualTo("/postgres/postgres/fx.types");
    }

    @Test
    void anUnchangedToastValueIsLeftOutOfTheUpdate() {
        CanonicalEvent update = events.get(1);
        assertThat(update.data().get("after").has("long_text")).isFalse();
        assertThat(update.data().get("after").get("flag").asBoolean()).isFalse();
        assertThat(update.toJson()).doesNotContain(EventMapper.UNAVAILABLE);
        // REPLICA IDENTITY DEFAULT: no old values, so which columns changed is unknown
        assertThat(update.data().get("before").isNull()).isTrue();
        assertThat(update.data().get("changed").isNull()).isTrue();
    }

    @Test
    void deletesCarryTheKeyKeylessRowsAHashTruncatesAndMessagesTheirOwnIds() {
        CanonicalEvent delete = events.get(2);
        // Debezium recorded placeholders ("", 0, epoch) for the columns PostgreSQL did not send: only the key is kept
        assertThat(delete.data().get("before").toString()).isEqualTo("{\"tenant\":7,\"code\":\"a\"}");
        assertThat(delete.data().get("after").isNull()).isTrue();
        CanonicalEvent keyless = events.get(3);
        assertThat(keyless.subject()).isNull();
        assertThat(keyless.id()).matches("postgres:[0-9A-F]+/[0-9A-F]+:fx.keyless:row-[0-9a-f]{16}");
        assertThat(events.get(4).id()).endsWith(":fx.keyless:truncate");
        CanonicalEvent message = events.get(5);
        assertThat(message.channel()).isEqualTo("orders");
        assertThat(message.data().get("order").asInt()).isEqualTo(5);
        assertThat(events).extracting(CanonicalEvent::id).doesNotHaveDuplicates();
    }

    @Test
    void theStreamedJsonIsTheTreeJsonForEveryKindOfValue() throws Exception {
        for (CanonicalEvent e : events) {
            assertThat(e.toJson()).isEqualTo(CanonicalEvent.JSON.writeValueAsString(e.toJsonNode()));
        }
    }
}
