package io.pgrouter.source;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.sql.Connection;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;

import io.pgrouter.event.CanonicalEvent;
import io.pgrouter.install.TriggerInstaller;
import io.pgrouter.testing.Sql;
import io.pgrouter.testing.TestServers;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * The durable trigger per statement (install --per statement) against the one per row: the same statements on two
 * tables of the same shape give routes the same events, one per row, with ids unique per row.
 * Tables: test.feed_rows, test.feed_statements; route: src/test/routes/wal-feed-to-webhook.yaml.
 */
@QuarkusTest
@QuarkusTestResource(value = TestServers.class, restrictToAnnotatedClass = false)
class StatementTriggerTest {

    private static final Duration WAIT = Duration.ofSeconds(30);

    static List<JsonNode> events(String channel) {
        return TestServers.webhook.deliveries("/feed").stream().map(d -> {
            try {
                return CanonicalEvent.JSON.readTree(d.body());
            } catch (java.io.IOException e) {
                throw new IllegalStateException(e);
            }
        }).filter(e -> channel.equals(e.path("pgchannel").asText())).toList();
    }

    @Test
    void multiRowInsertUpsertUpdateAndDeleteArriveAsOneEventPerRowLikeTheRowTrigger() throws Exception {
        try (Connection c = TestServers.db.connect()) {
            TriggerInstaller.install(c, "test.feed_rows", TriggerInstaller.Mode.DURABLE, TriggerInstaller.Per.ROW, "feed_rows");
            List<String> done = TriggerInstaller.install(c, "test.feed_statements", TriggerInstaller.Mode.DURABLE, TriggerInstaller.Per.STATEMENT,
                    "feed_statements");
            assertThat(done).contains("created trigger pgrouter_durable_insert on test.feed_statements (durable per statement, channel feed_statements, key id)");
            assertThat(TriggerInstaller.install(c, "test.feed_statements", TriggerInstaller.Mode.DURABLE, TriggerInstaller.Per.STATEMENT, "feed_statements"))
                    .allMatch(line -> line.startsWith("applied") || line.contains("already installed"));
        }
        for (String table : List.of("test.feed_rows", "test.feed_statements")) {
            Sql.exec("INSERT INTO " + table + " VALUES (1, 'placed', 10.50, 'a'), (2, 'placed', 20, NULL), (3, 'placed', 30, 'c')",
                    // the order feed: one system upserts two existing orders and a new one in one statement
                    "INSERT INTO " + table + " (id, status, amount) VALUES (2, 'paid', 20), (3, 'paid', 31), (4, 'placed', 40) "
                            + "ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, amount = EXCLUDED.amount",
                    "UPDATE " + table + " SET note = 'n' || id WHERE id IN (1, 4)",
                    "DELETE FROM " + table + " WHERE id IN (1, 2)",
                    "INSERT INTO " + table + " VALUES (5, 'placed', 50, 'single')");
        }
        // 3 inserts, 2 updates and 1 insert, 2 updates, 2 deletes, 1 insert
        await().atMost(WAIT).until(() -> events("feed_rows").size() == 11 && events("feed_statements").size() == 11);

        Map<String, JsonNode> byRow = keyed(events("feed_rows"));
        Map<String, JsonNode> byStatement = keyed(events("feed_statements"));
        assertThat(byStatement.keySet()).isEqualTo(byRow.keySet()).hasSize(11);
        byRow.forEach((key, row) -> {
            JsonNode statement = byStatement.get(key);
            assertThat(statement.get("data")).as(key).isEqualTo(row.get("data"));
            assertThat(statement.get("subject")).as(key).isEqualTo(row.get("subject"));
            assertThat(statement.get("pgtable").asText()).isEqualTo("feed_statements");
        });
        JsonNode upserted = byStatement.get("postgres.row.update 3 paid");
        assertThat(upserted.at("/data/before/amount").decimalValue()).isEqualByComparingTo("30");
        assertThat(upserted.at("/data/after/amount").decimalValue()).isEqualByComparingTo("31");
        assertThat(upserted.at("/data/changed").toString()).isEqualTo("[\"status\",\"amount\"]");

        // one message per statement: the rows of a statement share its position and are told apart by their place in it
        List<String> ids = events("feed_statements").stream().map(e -> e.get("id").asText()).toList();
        assertThat(ids).doesNotHaveDuplicates().allMatch(id -> id.matches(".*:message:feed_statements:[1-3]"));
        assertThat(events("feed_statements").stream().map(e -> e.get("pglsn").asText()).distinct().count()).isEqualTo(6);
        assertThat(events("feed_rows").stream().map(e -> e.get("pglsn").asText()).distinct().count()).isEqualTo(11);
    }

    /** type, subject and the row's status after (before for a delete): unique per event in this test. */
    private static Map<String, JsonNode> keyed(List<JsonNode> events) {
        return events.stream().collect(Collectors.toMap(e -> e.get("type").asText() + " " + e.get("subject").asText() + " "
                + (e.at("/data/after").isNull() ? e.at("/data/before/status") : e.at("/data/after/status")).asText(), Function.identity()));
    }
}
