package io.pgrouter.event;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import org.apache.kafka.connect.data.Decimal;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.SchemaBuilder;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.source.SourceRecord;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The mapper on records shaped as Debezium's PostgreSQL connector records them (pgoutput, the WAL source's
 * settings: decimal.handling.mode=precise, time.precision.mode=adaptive_time_microseconds, binary as bytes).
 */
class EventMapperTest {

    static final Schema SOURCE = SchemaBuilder.struct().name("io.debezium.connector.postgresql.Source")
            .field("db", Schema.STRING_SCHEMA).field("schema", Schema.OPTIONAL_STRING_SCHEMA).field("table", Schema.OPTIONAL_STRING_SCHEMA)
            .field("ts_ms", Schema.INT64_SCHEMA).field("ts_us", Schema.OPTIONAL_INT64_SCHEMA)
            .field("txId", Schema.OPTIONAL_INT64_SCHEMA).field("lsn", Schema.OPTIONAL_INT64_SCHEMA).build();

    static final Schema ROW = SchemaBuilder.struct().name("shop.public.orders.Value").optional()
            .field("tenant", Schema.INT32_SCHEMA)
            .field("code", Schema.STRING_SCHEMA)
            .field("amount", Decimal.builder(2).optional().parameter("connect.decimal.precision", "12").build())
            .field("ratio", SchemaBuilder.struct().name("io.debezium.data.VariableScaleDecimal").optional()
                    .field("scale", Schema.INT32_SCHEMA).field("value", Schema.BYTES_SCHEMA).build())
            .field("placed", SchemaBuilder.string().name("io.debezium.time.ZonedTimestamp").optional().build())
            .field("local", SchemaBuilder.int64().name("io.debezium.time.MicroTimestamp").optional().build())
            .field("day", SchemaBuilder.int32().name("io.debezium.time.Date").optional().build())
            .field("at", SchemaBuilder.int64().name("io.debezium.time.MicroTime").optional().build())
            .field("doc", SchemaBuilder.string().name("io.debezium.data.Json").optional().build())
            .field("tags", SchemaBuilder.array(Schema.OPTIONAL_STRING_SCHEMA).optional().build())
            .field("blob", Schema.OPTIONAL_BYTES_SCHEMA)
            .field("note", Schema.OPTIONAL_STRING_SCHEMA)
            .field("big_text", Schema.OPTIONAL_STRING_SCHEMA)
            .build();

    static final Schema KEY = SchemaBuilder.struct().name("shop.public.orders.Key")
            .field("tenant", Schema.INT32_SCHEMA).field("code", Schema.STRING_SCHEMA).build();

    static final Schema ENVELOPE = SchemaBuilder.struct().name("shop.public.orders.Envelope")
            .field("before", ROW).field("after", ROW).field("source", SOURCE).field("op", Schema.STRING_SCHEMA)
            .field("ts_ms", Schema.OPTIONAL_INT64_SCHEMA).build();

    /** A table with REPLICA IDENTITY FULL: old rows are whole. */
    final EventMapper mapper = new EventMapper("shop", (schema, table) -> new ReplicaIdentity(ReplicaIdentity.FULL, List.of()));

    static Struct row(String note, String bigText, String amount) {
        return new Struct(ROW).put("tenant", 7).put("code", "A-1")
                .put("amount", new BigDecimal(amount))
                .put("ratio", new Struct(ROW.field("ratio").schema()).put("scale", 5).put("value", ByteBuffer.wrap(new java.math.BigInteger("314159").toByteArray())))
                .put("placed", "2026-01-02T01:04:05.123456Z")
                .put("local", 1_767_323_045_500_000L) // 2026-01-02T03:04:05.5
                .put("day", 20455) // 2026-01-02
                .put("at", 11_045_250_000L) // 03:04:05.25
                .put("doc", "{\"k\": [1, 2, {\"n\": null}]}")
                .put("tags", java.util.Arrays.asList("one", null))
                .put("blob", ByteBuffer.wrap(new byte[] { 1, 2, (byte) 0xff }))
                .put("note", note)
                .put("big_text", bigText);
    }

    static SourceRecord record(String op, Struct before, Struct after, long lsn) {
        Struct source = new Struct(SOURCE).put("db", "shop").put("schema", "public").put("table", "orders")
                .put("ts_ms", 1_767_315_845_123L).put("ts_us", 1_767_315_845_123_456L).put("txId", 991L).put("lsn", lsn);
        Struct value = new Struct(ENVELOPE).put("before", before).put("after", after).put("source", source).put("op", op);
        Struct key = new Struct(KEY).put("tenant", 7).put("code", "A-1");
        return new SourceRecord(Map.of(), Map.of(), "pgrouter.public.orders", KEY, key, ENVELOPE, value);
    }

    @Test
    void lsnsReadAsPostgreSQLWritesThem() {
        assertThat(CanonicalEvent.formatLsn(0)).isEqualTo("0/0");
        assertThat(CanonicalEvent.formatLsn((0x16L << 32) + 0xB374D848L)).isEqualTo("16/B374D848");
        assertThat(CanonicalEvent.formatLsn(0x1000000000L)).isEqualTo("10/0");
        java.util.Random random = new java.util.Random(42);
        for (int i = 0; i < 1000; i++) {
            long lsn = random.nextLong() >>> random.nextInt(64);
            String text = CanonicalEvent.formatLsn(lsn);
            assertThat(CanonicalEvent.parseLsn(text)).isEqualTo(lsn);
            assertThat(text).isEqualTo(Long.toHexString(lsn >>> 32).toUpperCase() + "/" + Long.toHexString(lsn & 0xFFFFFFFFL).toUpperCase());
        }
    }

    @Test
    void insertCarriesEveryTypeAsPostgresWouldShowItInJson() {
        CanonicalEvent e = mapper.fromDebezium(record("c", null, row(null, "x", "12.50"), 0x16B3748L)).get(0);
        assertThat(e.type()).isEqualTo("postgres.row.insert");
        assertThat(e.source()).isEqualTo("/postgres/shop/public.orders");
        assertThat(e.subject()).isEqualTo("tenant=7,code=A-1");
        assertThat(e.id()).isEqualTo("shop:0/16B3748:public.orders:tenant=7,code=A-1");
        assertThat(e.time()).isEqualTo("2026-01-02T01:04:05.123456Z");
        assertThat(e.lsnText()).isEqualTo("0/16B3748");
        assertThat(e.txid()).isEqualTo(991L);
        JsonNode after = e.data().get("after");
        assertThat(after.get("amount").decimalValue()).isEqualTo(new BigDecimal("12.50"));
        assertThat(after.get("ratio").decimalValue()).isEqualTo(new BigDecimal("3.14159"));
        assertThat(after.get("placed").asText()).isEqualTo("2026-01-02T01:04:05.123456Z");
        assertThat(after.get("local").asText()).isEqualTo("2026-01-02T03:04:05.500");
        assertThat(after.get("day").asText()).isEqualTo("2026-01-02");
        assertThat(after.get("at").asText()).isEqualTo("03:04:05.250");
        assertThat(after.get("doc").toString()).isEqualTo("{\"k\":[1,2,{\"n\":null}]}");
        assertThat(after.get("tags").toString()).isEqualTo("[\"one\",null]");
        assertThat(after.get("blob").asText()).isEqualTo("\\x0102ff");
        assertThat(after.get("note").isNull()).isTrue();
        assertThat(e.data().get("before").isNull()).isTrue();
        assertThat(e.data().get("changed")).hasSize(ROW.fields().size());
        assertThat(e.toJson()).contains("\"amount\":12.50");
    }

    @Test
    void theSameChangeDeliveredAgainHasTheSameId() {
        SourceRecord r = record("u", row("a", "x", "1.00"), row("b", "x", "1.00"), 42L);
        assertThat(mapper.fromDebezium(r).get(0).id()).isEqualTo(mapper.fromDebezium(record("u", row("a", "x", "1.00"), row("b", "x", "1.00"), 42L)).get(0).id());
        assertThat(mapper.fromDebezium(r).get(0).id()).isNotEqualTo(mapper.fromDebezium(record("u", row("a", "x", "1.00"), row("b", "x", "1.00"), 43L)).get(0).id());
    }

    @Test
    void updateListsOnlyChangedColumnsAndLeavesUnchangedToastOut() {
        CanonicalEvent e = mapper.fromDebezium(record("u", row("old", "__debezium_unavailable_value", "1.00"),
                row("new", "__debezium_unavailable_value", "2.00"), 100L)).get(0);
        JsonNode data = e.data();
        assertThat(data.get("after").has("big_text")).isFalse();
        assertThat(data.get("before").has("big_text")).isFalse();
        assertThat(data.get("changed").toString()).isEqualTo("[\"amount\",\"note\"]");
        assertThat(e.toJson()).doesNotContain(EventMapper.UNAVAILABLE);
    }

    @Test
    void withTheDefaultIdentityADeleteKeepsOnlyTheKeyAndAnUpdatesChangedIsUnknown() {
        EventMapper byDefault = new EventMapper("shop", (schema, table) -> new ReplicaIdentity("DEFAULT", List.of("tenant", "code")));
        // what Debezium makes of a key-only old tuple: placeholders for the NOT NULL columns, NULL for the others
        Struct keyOnly = row(null, null, "0").put("placed", "1970-01-01T00:00:00Z").put("doc", null).put("tags", null).put("blob", null);
        CanonicalEvent delete = byDefault.fromDebezium(record("d", keyOnly, null, 5L)).get(0);
        assertThat(delete.data().get("before").toString()).isEqualTo("{\"tenant\":7,\"code\":\"A-1\"}");
        assertThat(delete.subject()).isEqualTo("tenant=7,code=A-1");

        CanonicalEvent update = byDefault.fromDebezium(record("u", null, row("new", "x", "2.00"), 6L)).get(0);
        assertThat(update.data().get("before").isNull()).isTrue();
        assertThat(update.data().get("changed").isNull()).as("unknown without the old row").isTrue();
        assertThat(update.headers()).doesNotContainKey("pgChanged");
        assertThat(update.toJson()).contains("\"changed\":null");

        // an identity index without the primary key: the key Debezium reports for a delete is invented, so no subject
        EventMapper byIndex = new EventMapper("shop", (schema, table) -> new ReplicaIdentity("USING INDEX", List.of("note")));
        CanonicalEvent indexDelete = byIndex.fromDebezium(record("d", row("n", null, "0"), null, 7L)).get(0);
        assertThat(indexDelete.data().get("before").toString()).isEqualTo("{\"note\":\"n\"}");
        assertThat(indexDelete.subject()).isNull();

        // no identity known (a table the source did not read): only the key columns Debezium reports are kept
        CanonicalEvent unknown = new EventMapper("shop").fromDebezium(record("d", keyOnly, null, 8L)).get(0);
        assertThat(unknown.data().get("before").toString()).isEqualTo("{\"tenant\":7,\"code\":\"A-1\"}");
    }

    @Test
    void deleteTruncateAndSnapshotAreRowEvents() {
        CanonicalEvent delete = mapper.fromDebezium(record("d", row("n", "t", "1.00"), null, 5L)).get(0);
        assertThat(delete.type()).isEqualTo("postgres.row.delete");
        assertThat(delete.data().get("after").isNull()).isTrue();
        assertThat(delete.data().get("before").get("note").asText()).isEqualTo("n");
        assertThat(delete.data().get("changed")).isEmpty();
        assertThat(mapper.fromDebezium(record("r", null, row("n", "t", "1.00"), 5L)).get(0).type()).isEqualTo("postgres.row.snapshot");
        CanonicalEvent truncate = mapper.fromDebezium(record("t", null, null, 6L)).get(0);
        assertThat(truncate.type()).isEqualTo("postgres.row.truncate");
        assertThat(truncate.id()).endsWith(":public.orders:truncate");
    }

    @Test
    void logicalDecodingMessagesAreMessageEventsOrRowEventsFromTheDurableTrigger() {
        Schema message = SchemaBuilder.struct().name("io.debezium.connector.postgresql.Message")
                .field("prefix", Schema.STRING_SCHEMA).field("content", Schema.BYTES_SCHEMA).build();
        Schema envelope = SchemaBuilder.struct().name("io.debezium.connector.postgresql.MessageValue")
                .field("op", Schema.STRING_SCHEMA).field("ts_ms", Schema.OPTIONAL_INT64_SCHEMA).field("source", SOURCE).field("message", message).build();
        java.util.function.BiFunction<String, String, SourceRecord> msg = (prefix, content) -> new SourceRecord(Map.of(), Map.of(), "pgrouter.message", envelope,
                new Struct(envelope).put("op", "m").put("ts_ms", 1L)
                        .put("source", new Struct(SOURCE).put("db", "shop").put("ts_ms", 1_767_315_845_123L).put("lsn", 77L).put("txId", 5L))
                        .put("message", new Struct(message).put("prefix", prefix).put("content", ByteBuffer.wrap(content.getBytes(StandardCharsets.UTF_8)))));

        CanonicalEvent plain = mapper.fromDebezium(msg.apply("orders", "not json")).get(0);
        assertThat(plain.type()).isEqualTo("postgres.message");
        assertThat(plain.source()).isEqualTo("/postgres/shop/message/orders");
        assertThat(plain.channel()).isEqualTo("orders");
        assertThat(plain.data().asText()).isEqualTo("not json");
        assertThat(mapper.fromDebezium(msg.apply("orders", "{\"a\": 1}")).get(0).data().get("a").asInt()).isEqualTo(1);

        CanonicalEvent row = mapper.fromDebezium(msg.apply("orders", "{\"pgrouter\":1,\"id\":\"5-1\",\"schema\":\"public\",\"table\":\"orders\","
                + "\"op\":\"insert\",\"key\":{\"id\":3},\"before\":null,\"after\":{\"id\":3,\"total\":9.5},\"txid\":5}")).get(0);
        assertThat(row.type()).isEqualTo("postgres.row.insert");
        assertThat(row.subject()).isEqualTo("3");
        assertThat(row.lsn()).isEqualTo(77L);
        assertThat(row.data().get("after").get("total").decimalValue()).isEqualByComparingTo("9.5");

        assertThat(mapper.fromDebezium(msg.apply(EventMapper.HEARTBEAT_PREFIX, "x"))).isEmpty();

        // the durable trigger per statement: one message, one event per row, each as the row-level trigger's gives it
        List<CanonicalEvent> rows = mapper.fromDebezium(msg.apply("orders", "{\"pgrouter\":1,\"schema\":\"public\",\"table\":\"orders\","
                + "\"op\":\"update\",\"key_columns\":[\"id\"],\"txid\":5,\"rows\":[{\"before\":{\"id\":3,\"total\":9.5},\"after\":{\"id\":3,\"total\":10}},"
                + "{\"before\":{\"id\":4,\"total\":1},\"after\":{\"id\":4,\"total\":1}}]}"));
        CanonicalEvent rowLevel = mapper.fromDebezium(msg.apply("orders", "{\"pgrouter\":1,\"id\":\"5-1\",\"schema\":\"public\",\"table\":\"orders\","
                + "\"op\":\"update\",\"key\":{\"id\":3},\"before\":{\"id\":3,\"total\":9.5},\"after\":{\"id\":3,\"total\":10},\"txid\":5}")).get(0);
        assertThat(rows).extracting(CanonicalEvent::subject).containsExactly("3", "4");
        assertThat(rows).extracting(CanonicalEvent::id).containsExactly(rowLevel.id() + ":1", rowLevel.id() + ":2");
        assertThat(rows.get(0).data()).isEqualTo(rowLevel.data());
        assertThat(rows.get(0).type()).isEqualTo(rowLevel.type());
        assertThat(rows.get(0).txid()).isEqualTo(rowLevel.txid());
        assertThat(rows.get(1).data().get("changed")).isEmpty();

        // the row trigger's lean payload (sql/pgrouter.sql emit_change): key columns as the installer passed them, the key
        // made here; the same event as with the key in the payload
        CanonicalEvent lean = mapper.fromDebezium(msg.apply("orders", "{\"pgrouter\":1,\"schema\":\"public\",\"table\":\"orders\","
                + "\"op\":\"update\",\"key_columns\":\"id\",\"before\":{\"id\":3,\"total\":9.5},\"after\":{\"id\":3,\"total\":10}}")).get(0);
        assertThat(lean.subject()).isEqualTo(rowLevel.subject());
        assertThat(lean.data()).isEqualTo(rowLevel.data());
        CanonicalEvent composite = mapper.fromDebezium(msg.apply("lines", "{\"pgrouter\":1,\"schema\":\"public\",\"table\":\"lines\","
                + "\"op\":\"delete\",\"key_columns\":\"tenant,code\",\"before\":{\"code\":\"A-1\",\"n\":1,\"tenant\":7}}")).get(0);
        assertThat(composite.type()).isEqualTo("postgres.row.delete");
        assertThat(composite.subject()).isEqualTo("tenant=7,code=A-1");
    }

    @Test
    void heartbeatsAndTombstonesAreSkipped() {
        Schema heartbeat = SchemaBuilder.struct().name("io.debezium.connector.common.Heartbeat").field("ts_ms", Schema.INT64_SCHEMA).build();
        assertThat(mapper.fromDebezium(new SourceRecord(Map.of(), Map.of(), "__debezium-heartbeat.pgrouter", heartbeat, new Struct(heartbeat).put("ts_ms", 1L)))).isEmpty();
        assertThat(mapper.fromDebezium(new SourceRecord(Map.of(), Map.of(), "pgrouter.public.orders", null, null))).isEmpty();
    }

    @Test
    void notifyPayloadsFromTheTriggerBecomeRowEventsAndOtherTextStaysText() {
        CanonicalEvent row = mapper.fromNotify("orders", "{\"pgrouter\":1,\"id\":\"900-4\",\"schema\":\"public\",\"table\":\"orders\",\"op\":\"update\","
                + "\"key\":{\"tenant\":7,\"code\":\"A-1\"},\"before\":{\"tenant\":7,\"code\":\"A-1\",\"n\":1},\"after\":{\"tenant\":7,\"code\":\"A-1\",\"n\":2},"
                + "\"txid\":900,\"time\":\"2026-01-02T03:04:05.123456+02:00\"}");
        assertThat(row.type()).isEqualTo("postgres.row.update");
        assertThat(row.id()).isEqualTo("shop:notify:orders:900-4");
        assertThat(row.subject()).isEqualTo("tenant=7,code=A-1");
        assertThat(row.time()).isEqualTo("2026-01-02T01:04:05.123456Z");
        assertThat(row.data().get("changed").toString()).isEqualTo("[\"n\"]");
        assertThat(row.headers()).containsEntry("pgChannel", "orders").containsEntry("pgOp", "update").containsEntry("pgTable", "orders");

        CanonicalEvent text = mapper.fromNotify("orders", "12 apples");
        assertThat(text.type()).isEqualTo("postgres.notify");
        assertThat(text.data().isTextual()).isTrue();
        assertThat(text.data().asText()).isEqualTo("12 apples");
        assertThat(mapper.fromNotify("orders", "{\"x\": [1]}").data().get("x").get(0).asInt()).isEqualTo(1);
        assertThat(EventMapper.isClaimCheck(EventMapper.parseOrText("{\"pgrouter\":1,\"table\":\"t\",\"op\":\"insert\",\"claim\":true}"))).isTrue();
        assertThat(List.of(text.headers().keySet().toArray())).doesNotContain("pgTable");
    }
}
