package io.pgrouter.source;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;

import io.pgrouter.event.CanonicalEvent;
import io.pgrouter.testing.Lake;
import io.pgrouter.testing.Sql;
import io.pgrouter.testing.TestServers;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/** Column types, unchanged TOAST values and failing sinks through the real WAL pipeline. */
@QuarkusTest
@QuarkusTestResource(value = TestServers.class, restrictToAnnotatedClass = false)
class WalEventsTest {

    private static final Duration WAIT = Duration.ofSeconds(20);

    static List<JsonNode> typeEvents(String code) {
        return Lake.rows("test.types").stream().filter(e -> e.get("_subject").asText().equals("tenant=7,code=" + code)).toList();
    }

    @Test
    void everyColumnTypeArrivesAsPostgresShowsItAndUnchangedToastIsNeverAValue() throws Exception {
        // ~120 kB of incompressible text: stored out of line, so an update of another column does not send it
        String longText = "md5 chain";
        Sql.exec("INSERT INTO test.types VALUES (7, 'a', 12345678901234.123456, 3.14159265358979323846, 9007199254740993, true, "
                + "'2026-01-02 03:04:05.123456+02', '2026-01-02 03:04:05.5', '2026-01-02', '03:04:05.25', "
                + "'{\"k\": [1, 2, {\"n\": null}], \"s\": \"x\"}', '{one,two,NULL}', '{1,2,3}', "
                + "'8d2d3a36-6a57-4f44-9a4b-4c0e6c7b1a9e', '\\x0102ff', NULL, "
                + "(SELECT string_agg(md5(i::text), '') FROM generate_series(1, 4000) i))");
        Sql.exec("UPDATE test.types SET flag = false WHERE tenant = 7 AND code = 'a'");

        await().atMost(WAIT).until(() -> typeEvents("a").size() == 2);
        JsonNode insert = typeEvents("a").get(0);
        JsonNode after = insert; // a lake row: the row's columns beside the event's fields
        JsonNode expected = postgresView();
        assertThat(after.get("amount").decimalValue()).isEqualByComparingTo(expected.get("amount").decimalValue());
        assertThat(after.get("ratio").decimalValue()).isEqualByComparingTo(expected.get("ratio").decimalValue());
        assertThat(after.get("big").asLong()).isEqualTo(9007199254740993L);
        assertThat(after.get("flag").asBoolean()).isTrue();
        assertThat(Instant.parse(after.get("happened").asText()))
                .isEqualTo(java.time.OffsetDateTime.parse(expected.get("happened").asText()).toInstant());
        assertThat(after.get("local_ts").asText()).isEqualTo("2026-01-02T03:04:05.500");
        assertThat(java.time.LocalDateTime.parse(after.get("local_ts").asText()))
                .isEqualTo(java.time.LocalDateTime.parse(expected.get("local_ts").asText()));
        assertThat(after.get("day").asText()).isEqualTo(expected.get("day").asText());
        assertThat(java.time.LocalTime.parse(after.get("at_time").asText())).isEqualTo(java.time.LocalTime.parse(expected.get("at_time").asText()));
        assertThat(after.get("doc")).isEqualTo(expected.get("doc"));
        assertThat(after.get("tags")).isEqualTo(expected.get("tags"));
        assertThat(after.get("nums")).isEqualTo(expected.get("nums"));
        assertThat(after.get("uid")).isEqualTo(expected.get("uid"));
        assertThat(after.get("blob")).isEqualTo(expected.get("blob"));
        assertThat(after.get("empty").isNull()).isTrue();
        assertThat(after.get("long_text").asText()).isEqualTo(expected.get("long_text").asText()).hasSize(128_000);
        assertThat(insert.get("_subject").asText()).isEqualTo("tenant=7,code=a");
        assertThat(insert.get("_event_id").asText()).endsWith(":test.types:tenant=7,code=a");

        JsonNode update = typeEvents("a").get(1);
        assertThat(update.has("long_text")).as("unchanged TOAST column is absent, not a placeholder").isFalse();
        assertThat(update.get("flag").asBoolean()).isFalse();
        assertThat(update.get("_changed").toString()).doesNotContain("long_text");
        assertThat(update.toString()).doesNotContain("__debezium_unavailable_value");
        assertThat(longText).isNotEmpty();
    }

    private static JsonNode postgresView() throws Exception {
        try (Connection c = TestServers.db.connect(); Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT to_jsonb(t) FROM test.types t WHERE tenant = 7 AND code = 'a'")) {
            rs.next();
            return CanonicalEvent.JSON.readTree(rs.getString(1));
        }
    }

    @Test
    void aSinkThatFailsSendsTheEventToDeadLettersAndTheStreamMovesOn() {
        Sql.exec("INSERT INTO test.fragile VALUES (1, 'first')", "INSERT INTO test.fragile VALUES (2, 'second')");
        await().atMost(WAIT).until(() -> Sql.count("SELECT count(*) FROM pgrouter.dead_letters WHERE route_id = 'wal-fragile-to-unreachable-webhook'") == 2);
        assertThat(Sql.count("SELECT count(*) FROM pgrouter.dead_letters WHERE event->>'subject' = '1' AND error LIKE '%onnect%'")).isEqualTo(1);
        assertThat(Lake.rows("test.fragile")).hasSize(2);
        Map<String, Long> ids = Map.of("1", Sql.count("SELECT count(*) FROM pgrouter.dead_letters WHERE event_id LIKE '%:test.fragile:1'"));
        assertThat(ids.get("1")).isEqualTo(1);
        // later events of other tables still flow
        Sql.exec("INSERT INTO test.types (tenant, code, flag) VALUES (7, 'after-failure', true)");
        await().atMost(WAIT).until(() -> typeEvents("after-failure").size() == 1);
    }

    @Test
    void aRouteCanPublishANotifyWithPgevent() throws Exception {
        assertThat(notifyAfter("echo_out", "INSERT INTO test.echo VALUES (41)", "echo 41"::equals)).isEqualTo("echo 41");
    }

    /** LISTENs on the channel, runs the statement, and returns the first payload the predicate accepts. */
    private static String notifyAfter(String channel, String statement, java.util.function.Predicate<String> wanted) throws Exception {
        try (Connection listener = TestServers.db.connect(); Statement s = listener.createStatement()) {
            s.execute("LISTEN " + channel);
            Sql.exec(statement);
            org.postgresql.PGConnection pg = listener.unwrap(org.postgresql.PGConnection.class);
            List<String> received = new java.util.ArrayList<>();
            await().atMost(WAIT).until(() -> {
                org.postgresql.PGNotification[] got = pg.getNotifications(200);
                if (got != null) for (org.postgresql.PGNotification n : got) received.add(n.getParameter());
                return received.stream().anyMatch(wanted);
            });
            return received.stream().filter(wanted).findFirst().orElseThrow();
        }
    }

    /**
     * The body is built lazily (io.pgrouter.event.EventBody): whichever way a route reads it, it must be the event JSON,
     * the same text the dead-letter store and the message sinks carry.
     */
    @Test
    void aRouteReadsTheBodyAsTheEventJsonWithJsonPathSimpleAndJackson() throws Exception {
        String[] parts = notifyAfter("echo_body", "INSERT INTO test.echo VALUES (42)", p -> p.startsWith("42|")).split("\\|", 3);
        JsonNode viaSimple = CanonicalEvent.JSON.readTree(parts[1]);
        JsonNode viaJackson = CanonicalEvent.JSON.readTree(parts[2]);
        assertThat(viaSimple.get("specversion").asText()).isEqualTo("1.0");
        assertThat(viaSimple.get("type").asText()).isEqualTo("postgres.row.insert");
        assertThat(viaSimple.get("pgtable").asText()).isEqualTo("echo");
        assertThat(viaSimple.get("subject").asText()).isEqualTo("42");
        assertThat(viaSimple.at("/data/after/id").asInt()).isEqualTo(42);
        assertThat(viaJackson).isEqualTo(viaSimple);
        assertThat(parts[2]).as("Jackson writes the same text").isEqualTo(parts[1]);
    }

    @Test
    void metricsCountEventsPerSourceTableAndRoute() throws Exception {
        Sql.exec("INSERT INTO test.types (tenant, code) VALUES (7, 'metrics')");
        await().atMost(WAIT).until(() -> typeEvents("metrics").size() == 1);
        String metrics = java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(metricsUrl.toURI()).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString()).body();
        assertThat(metrics).containsPattern("pgrouter_events_in_total\\{[^}]*op=\"insert\"[^}]*table=\"test.types\"")
                .containsPattern("pgrouter_events_out_total\\{[^}]*outcome=\"delivered\"[^}]*route=\"wal-types-to-lake\"")
                .contains("pgrouter_commit_to_delivered_seconds_bucket")
                .containsPattern("pgrouter_wal_slot_lag_bytes\\{slot=\"pgrouter\"}");
    }

    @Test
    void heartbeatsMoveTheSlotOnADatabaseWhoseRoutedTablesAreQuiet() {
        // WAL written by a table no route subscribes to: without heartbeats the slot would hold it back for ever
        Sql.exec("CREATE TABLE IF NOT EXISTS public.unrouted (id serial PRIMARY KEY, filler text)",
                "INSERT INTO public.unrouted (filler) SELECT repeat('x', 100) FROM generate_series(1, 1000)");
        long written = Sql.count("SELECT (pg_current_wal_lsn() - '0/0')::bigint");
        // heartbeats every 10 s (pgrouter.wal.heartbeat-interval-ms), then the position is stored and confirmed
        await().atMost(Duration.ofSeconds(45)).until(() -> Sql.count(
                "SELECT (confirmed_flush_lsn - '0/0')::bigint FROM pg_replication_slots WHERE slot_name = 'pgrouter'") >= written);
    }

    @io.quarkus.test.common.http.TestHTTPResource("/q/metrics")
    java.net.URL metricsUrl;
}
