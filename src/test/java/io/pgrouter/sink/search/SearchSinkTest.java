package io.pgrouter.sink.search;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicBoolean;

import jakarta.inject.Inject;

import org.apache.camel.ProducerTemplate;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.pgrouter.testing.OpenSearchServer;
import io.pgrouter.testing.RecordedEvents;
import io.pgrouter.testing.Sql;
import io.pgrouter.testing.TestServers;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;

/**
 * The search-index sink against a real OpenSearch 2.19 node in its own JVM: the index holds exactly the table's
 * rows, replays change nothing, unchanged TOAST values survive updates, rejected documents go to dead letters alone,
 * and a node that is down for 30 s under load loses nothing.
 */
@QuarkusTest
@TestProfile(SearchSinkTest.WithOpenSearch.class)
class SearchSinkTest {

    public static class WithOpenSearch implements QuarkusTestProfile {
        @Override
        public List<TestResourceEntry> testResources() {
            return List.of(new TestResourceEntry(OpenSearchServer.class));
        }

        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("camel.main.routes-include-pattern", "file:routes/*.yaml,file:src/test/routes/*.yaml,file:src/test/routes/search/*.yaml");
        }
    }

    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String ITEMS = "test-search_items";

    @Inject
    ProducerTemplate producer;

    @Inject
    RecordedEvents recorded;

    @Inject
    org.apache.camel.CamelContext camel;

    @Test
    void indexHoldsExactlyTheTableRowsAfterAThousandInsertsUpdatesAndDeletes() {
        for (int from = 1; from <= 1000; from += 100) {
            Sql.exec("INSERT INTO test.search_items (id, title, price, qty) SELECT i, 'item ' || i, i * 1.25, i % 7 FROM generate_series(" + from + ", "
                    + (from + 99) + ") i");
        }
        Sql.exec("UPDATE test.search_items SET title = title || ' (revised)', price = price + 1 WHERE id BETWEEN 1 AND 1000 AND id % 3 = 0");
        Sql.exec("DELETE FROM test.search_items WHERE id BETWEEN 1 AND 1000 AND id % 5 = 0");
        // several changes of one row in one transaction, and a delete followed by a re-insert of the same key
        Sql.exec("BEGIN; UPDATE test.search_items SET qty = 100 WHERE id = 2; UPDATE test.search_items SET qty = 200, title = 'twice' WHERE id = 2; "
                + "DELETE FROM test.search_items WHERE id = 4; INSERT INTO test.search_items (id, title) VALUES (4, 'back again'); COMMIT");
        Sql.exec("UPDATE test.search_items SET qty = qty + 1 WHERE id BETWEEN 1 AND 1000 AND id % 11 = 0");

        await().atMost(WAIT).untilAsserted(() -> assertThat(documents(ITEMS, 1, 1000)).isEqualTo(rows(1, 1000)));
        assertThat(documents(ITEMS, 2, 2).get("2").path("title").asText()).isEqualTo("twice");
        assertThat(documents(ITEMS, 4, 4).get("4").path("title").asText()).isEqualTo("back again");
        assertThat(rows(1, 1000)).hasSize(800);
    }

    @Test
    void replayingTheSameWalRangeChangesNothing() throws Exception {
        Sql.exec("INSERT INTO test.search_items (id, title, price) SELECT i, 'replay ' || i, i FROM generate_series(2001, 2200) i");
        Sql.exec("UPDATE test.search_items SET price = price * 2 WHERE id BETWEEN 2001 AND 2200 AND id % 2 = 0");
        Sql.exec("DELETE FROM test.search_items WHERE id BETWEEN 2001 AND 2200 AND id % 10 = 1");
        Sql.exec("INSERT INTO test.search_items (id, title) VALUES (2001, 're-inserted')");
        await().atMost(WAIT).untilAsserted(() -> assertThat(documents(ITEMS, 2001, 2200)).isEqualTo(rows(2001, 2200)));
        Map<String, JsonNode> before = hits(ITEMS, 2001, 2200);

        List<RecordedEvents.Event> range = recorded.events().stream().filter(e -> {
            int id = Integer.parseInt(String.valueOf(e.headers().get("ceSubject")));
            return id >= 2001 && id <= 2200;
        }).toList();
        assertThat(range).hasSize(200 + 100 + 20 + 1);
        for (RecordedEvents.Event e : range) producer.sendBodyAndHeaders("direct:search-items", e.body(), e.headers());
        ((io.pgrouter.delivery.BatchBoundary) camel.getComponent("pgsearch")).flush();

        // every document is as it was, down to its version (the LSN) and its sequence number: nothing was written
        assertThat(hits(ITEMS, 2001, 2200)).isEqualTo(before);
        assertThat(Sql.count("SELECT count(*) FROM pgrouter.dead_letters WHERE event->>'pgtable' = 'search_items'")).isZero();
    }

    @Test
    void anUpdateOfAnotherColumnKeepsALargeToastedTextIntact() {
        Sql.exec("INSERT INTO test.search_items (id, title, price, body) SELECT 3001, 'big', 1, string_agg(md5(i::text), '') FROM generate_series(1, 6000) i");
        String body = text("SELECT body FROM test.search_items WHERE id = 3001");
        assertThat(body).hasSize(192_000);
        await().atMost(WAIT).until(() -> documents(ITEMS, 3001, 3001).containsKey("3001"));

        Sql.exec("UPDATE test.search_items SET price = 2 WHERE id = 3001");
        // two updates in one transaction, neither sending the TOAST value: the second builds on the first
        Sql.exec("BEGIN; UPDATE test.search_items SET qty = 5 WHERE id = 3001; UPDATE test.search_items SET title = 'bigger' WHERE id = 3001; COMMIT");

        await().atMost(WAIT).untilAsserted(() -> assertThat(documents(ITEMS, 3001, 3001)).isEqualTo(rows(3001, 3001)));
        JsonNode doc = documents(ITEMS, 3001, 3001).get("3001");
        assertThat(doc.path("body").asText()).isEqualTo(body);
        assertThat(doc.path("title").asText()).isEqualTo("bigger");
        assertThat(doc.path("qty").asInt()).isEqualTo(5);
    }

    @Test
    void aDocumentTheMappingRejectsIsDeadLetteredAndTheRestOfTheBatchIsIndexed() {
        Sql.exec("BEGIN; INSERT INTO test.search_strict VALUES (1, '11', 'one'), (2, 'not-a-number', 'two'), (3, '33', 'three'); COMMIT");

        await().atMost(WAIT).until(() -> deadLetters("wal-search-strict-to-search") == 1);
        await().atMost(WAIT).until(() -> documents("test-search_strict", 1, 3).keySet().equals(java.util.Set.of("1", "3")));
        assertThat(documents("test-search_strict", 3, 3).get("3").path("remark").asText()).isEqualTo("three");
        // named by its Kamelet: bin/pgrouter dead-letters list --sink search-index-sink finds it
        assertThat(text("SELECT route_id || ' ' || sink || ' ' || (event->>'subject') || ' ' || error FROM pgrouter.dead_letters WHERE event->>'pgtable' = 'search_strict'"))
                .startsWith("wal-search-strict-to-search search-index-sink 2 ").contains("mapper_parsing_exception").contains("[code]");
        // the index was created from the mapping file before the first write
        assertThat(OpenSearchServer.json("GET", "/test-search_strict/_mapping", null).findPath("code").path("type").asText()).isEqualTo("long");

        // truncate=delete-by-query: the table's index is emptied, and rows written after it are indexed
        Sql.exec("TRUNCATE test.search_strict");
        Sql.exec("INSERT INTO test.search_strict VALUES (4, '44', 'after')");
        await().atMost(WAIT).until(() -> documents("test-search_strict", 1, 10).keySet().equals(java.util.Set.of("4")));
    }

    @Test
    void aNodeDownForThirtySecondsUnderLoadLosesNothing() throws Exception {
        Sql.exec("INSERT INTO test.search_items (id, title, price) SELECT i, 'outage ' || i, i FROM generate_series(5001, 5050) i");
        await().atMost(WAIT).untilAsserted(() -> assertThat(documents(ITEMS, 5001, 5050)).isEqualTo(rows(5001, 5050)));

        AtomicBoolean writing = new AtomicBoolean(true);
        Thread writer = new Thread(() -> {
            int next = 5051;
            while (writing.get()) {
                Sql.exec("INSERT INTO test.search_items (id, title, price) VALUES (" + next + ", 'during outage', 1)",
                        "UPDATE test.search_items SET price = price + 1 WHERE id = " + (5001 + next % 50),
                        "DELETE FROM test.search_items WHERE id = " + (next - 3) + " AND id % 4 = 0");
                next++;
                try {
                    Thread.sleep(150);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        writer.start();
        try {
            Thread.sleep(2000); // load before the outage
            OpenSearchServer.stopNode();
            Thread.sleep(30_000); // the outage under load is the point of this test
            OpenSearchServer.startNode();
            Thread.sleep(2000);
        } finally {
            writing.set(false);
            writer.join();
        }

        assertThat(rows(5001, 9999)).hasSizeGreaterThan(200);
        await().atMost(Duration.ofSeconds(120)).untilAsserted(() -> assertThat(documents(ITEMS, 5001, 9999)).isEqualTo(rows(5001, 9999)));
        await().atMost(WAIT).until(() -> Sql.count("SELECT count(*) FROM pgrouter.retries WHERE sink_key LIKE 'search-index-sink:%'") == 0);
        assertThat(Sql.count("SELECT count(*) FROM pgrouter.dead_letters WHERE event->>'pgtable' = 'search_items'")).isZero();
    }

    private static long deadLetters(String route) {
        return Sql.count("SELECT count(*) FROM pgrouter.dead_letters WHERE route_id = '" + route + "'");
    }

    /** The rows with ids in [from, to] as PostgreSQL's to_jsonb shows them, by id. */
    private static Map<String, JsonNode> rows(int from, int to) {
        Map<String, JsonNode> rows = new TreeMap<>();
        try (Connection c = TestServers.db.connect(); Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT id, to_jsonb(t) FROM test.search_items t WHERE id BETWEEN " + from + " AND " + to)) {
            while (rs.next()) rows.put(rs.getString(1), normalised(JSON.readTree(rs.getString(2))));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        return rows;
    }

    private static String text(String query) {
        try (Connection c = TestServers.db.connect(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(query)) {
            rs.next();
            return rs.getString(1);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** The documents with ids in [from, to] as the index returns them (after a refresh), by id. */
    private static Map<String, JsonNode> documents(String index, int from, int to) {
        Map<String, JsonNode> docs = new TreeMap<>();
        hits(index, from, to).forEach((id, hit) -> docs.put(id, normalised(hit.get("_source"))));
        return docs;
    }

    /** The search hits, with version and sequence number, by id. */
    private static Map<String, JsonNode> hits(String index, int from, int to) {
        Map<String, JsonNode> hits = new TreeMap<>();
        if (OpenSearchServer.json("GET", "/_cat/indices?format=json", null).findValuesAsText("index").contains(index)) {
            OpenSearchServer.json("POST", "/" + index + "/_refresh", null);
            JsonNode result = OpenSearchServer.json("POST", "/" + index + "/_search", "{\"size\": 10000, \"version\": true, \"seq_no_primary_term\": true, "
                    + "\"query\": {\"range\": {\"id\": {\"gte\": " + from + ", \"lte\": " + to + "}}}}");
            for (JsonNode hit : result.path("hits").path("hits")) hits.put(hit.path("_id").asText(), hit);
        }
        return hits;
    }

    /** Numbers compared by value (to_jsonb keeps numeric's scale: 5.00), NULL columns left out on both sides. */
    private static JsonNode normalised(JsonNode node) {
        com.fasterxml.jackson.databind.node.ObjectNode copy = JSON.createObjectNode();
        node.fields().forEachRemaining(f -> {
            if (f.getValue().isNumber()) {
                copy.put(f.getKey(), new java.math.BigDecimal(f.getValue().asText()).stripTrailingZeros());
            } else if (!f.getValue().isNull()) {
                copy.set(f.getKey(), f.getValue());
            }
        });
        return copy;
    }
}
