package io.pgrouter.source.wal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;

import io.pgrouter.event.CanonicalEvent;
import io.pgrouter.postgres.Postgres;
import io.pgrouter.testing.DuckDb;
import io.pgrouter.testing.Sql;
import io.pgrouter.testing.TestServers;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * What a stock PostgreSQL sends under each replica identity, as a user sees it: the webhook body (before, changed) and
 * the lake read by DuckDB with the README's latest-state query after updates that leave a 200 kB TOAST value unsent.
 * Tables: test.ident_* in test-schema.sql; route: src/test/routes/wal-ident-to-webhook-and-lake.yaml.
 */
@QuarkusTest
@QuarkusTestResource(value = TestServers.class, restrictToAnnotatedClass = false)
class ReplicaIdentityTest {

    private static final Duration WAIT = Duration.ofSeconds(30);
    /** ~200 kB of incompressible text: stored out of line, so an update of another column does not send it. */
    private static final String BIG = "(SELECT string_agg(md5(random()::text || i), '') FROM generate_series(1, 6250) i)";

    @Inject
    Postgres postgres;

    static List<JsonNode> events(String table, String subject) {
        return TestServers.webhook.deliveries("/ident").stream().map(d -> parse(d.body()))
                .filter(e -> table.equals(e.path("pgtable").asText()) && subject.equals(e.path("subject").asText())).toList();
    }

    static JsonNode parse(String body) {
        try {
            return CanonicalEvent.JSON.readTree(body);
        } catch (Exception e) {
            throw new IllegalStateException(body, e);
        }
    }

    static JsonNode json(String text) {
        return parse(text);
    }

    private static String insert(String table, int id, String description) {
        return "INSERT INTO test." + table + " (id, code, title, price, tags, description) VALUES (" + id + ", 'c" + id + "', 'title " + id
                + "', 12.50, '{a,b}', " + description + ")";
    }

    @Test
    void aDeleteWithTheDefaultIdentityCarriesOnlyTheKeyNeverPlaceholders() {
        Sql.exec(insert("ident_default", 1, BIG), "DELETE FROM test.ident_default WHERE id = 1");
        await().atMost(WAIT).until(() -> events("ident_default", "1").size() == 2);
        JsonNode delete = events("ident_default", "1").get(1);
        assertThat(delete.path("type").asText()).isEqualTo("postgres.row.delete");
        assertThat(delete.path("data").path("before")).isEqualTo(json("{\"id\": 1}"));
        assertThat(delete.path("data").path("after").isNull()).isTrue();
    }

    @Test
    void updatesBeforeAndChangedHoldOnlyWhatPostgresSentUnderEachIdentity() {
        for (String table : List.of("ident_default", "ident_full", "ident_index")) {
            Sql.exec(insert(table, 2, "'short'"), "UPDATE test." + table + " SET price = 9.99 WHERE id = 2",
                    "UPDATE test." + table + " SET updated_at = now() + interval '1 hour' WHERE id = 2");
        }
        // the key (or the index's column) changes: PostgreSQL sends the old key, and only that; Debezium makes it a
        // delete of the old key and an insert of the new row
        Sql.exec("UPDATE test.ident_default SET id = 3 WHERE id = 2", "UPDATE test.ident_index SET code = 'c2x' WHERE id = 2");
        Sql.exec("DELETE FROM test.ident_full WHERE id = 2", "DELETE FROM test.ident_index WHERE id = 2");

        await().atMost(WAIT).untilAsserted(() -> assertThat(List.of(events("ident_default", "3").size(), events("ident_full", "2").size(),
                events("ident_index", "2").size(), indexDeletes().size())).as(TestServers.webhook.deliveries("/ident").toString())
                .containsExactly(1, 4, 4, 2));

        // DEFAULT: no old row, so which columns changed is unknown (null), not "every column"
        List<JsonNode> byDefault = events("ident_default", "2");
        assertThat(byDefault).hasSize(4);
        assertThat(byDefault.get(0).path("data").path("changed")).hasSize(7); // an insert sets every column
        for (JsonNode update : byDefault.subList(1, 3)) {
            assertThat(update.path("data").path("before").isNull()).as(update.toString()).isTrue();
            assertThat(update.path("data").path("changed").isNull()).as(update.toString()).isTrue();
        }
        assertThat(byDefault.get(3).path("type").asText()).isEqualTo("postgres.row.delete");
        assertThat(byDefault.get(3).path("data").path("before")).isEqualTo(json("{\"id\": 2}"));
        assertThat(events("ident_default", "3").get(0).path("data").path("after").path("title").asText()).isEqualTo("title 2");

        // FULL: the whole old row, and exactly the columns that changed; a delete carries the whole old row
        List<JsonNode> full = events("ident_full", "2");
        assertThat(full.get(1).path("data").path("before").path("price").decimalValue()).isEqualByComparingTo("12.50");
        assertThat(full.get(1).path("data").path("changed")).isEqualTo(json("[\"price\"]"));
        assertThat(full.get(2).path("data").path("changed")).isEqualTo(json("[\"updated_at\"]"));
        JsonNode fullDelete = full.get(3).path("data").path("before");
        assertThat(fullDelete.path("title").asText()).isEqualTo("title 2");
        assertThat(fullDelete.path("description").asText()).isEqualTo("short");
        assertThat(fullDelete.size()).isEqualTo(7);

        // USING INDEX (code): old values are the index's columns only
        List<JsonNode> index = events("ident_index", "2");
        assertThat(index.get(1).path("data").path("before").isNull()).isTrue();
        assertThat(index.get(1).path("data").path("changed").isNull()).isTrue();
        assertThat(index.get(3).path("data").path("after").path("code").asText()).isEqualTo("c2x");
        // the index lacks the primary key: PostgreSQL does not send id, so these deletes have no subject rather than an invented one
        List<JsonNode> indexDeletes = indexDeletes();
        assertThat(indexDeletes).allSatisfy(d -> assertThat(d.has("subject")).as(d.toString()).isFalse());
        assertThat(indexDeletes.get(0).path("data").path("before")).as("code changed").isEqualTo(json("{\"code\": \"c2\"}"));
        assertThat(indexDeletes.get(1).path("data").path("before")).isEqualTo(json("{\"code\": \"c2x\"}"));
    }

    static List<JsonNode> indexDeletes() {
        return TestServers.webhook.deliveries("/ident").stream().map(d -> parse(d.body()))
                .filter(e -> "ident_index".equals(e.path("pgtable").asText()) && "delete".equals(e.path("pgop").asText())).toList();
    }

    @Test
    void eachRoutedTableWithoutFullIdentityGetsOneWarningNamingTheFix() throws Exception {
        try (Connection c = postgres.open()) {
            Map<String, io.pgrouter.event.ReplicaIdentity> read = ReplicaIdentities.read(c,
                    Set.of("test.ident_default", "test.ident_full", "test.ident_index", "test.ident_nothing", "test.ident_keyless"));
            assertThat(read.get("test.ident_full").full()).isTrue();
            assertThat(read.get("test.ident_default").columns()).containsExactly("id");
            assertThat(read.get("test.ident_index").columns()).containsExactly("code");
            List<String> warnings = ReplicaIdentities.warnings(read, "pgrouter");
            assertThat(warnings).hasSize(4);
            assertThat(warnings).noneMatch(w -> w.contains("test.ident_full"));
            assertThat(warnings).anySatisfy(w -> assertThat(w).contains("test.ident_default").contains("REPLICA IDENTITY DEFAULT")
                    .contains("ALTER TABLE test.ident_default REPLICA IDENTITY FULL;"));
            assertThat(warnings).anySatisfy(w -> assertThat(w).contains("test.ident_nothing").contains("rejects")
                    .contains("ALTER TABLE test.ident_nothing REPLICA IDENTITY FULL;"));
            assertThat(warnings).anySatisfy(w -> assertThat(w).contains("test.ident_keyless").contains("rejects"));
        }
    }

    @Test
    void theInstallCommandSetsReplicaIdentityFullOnce() throws Exception {
        try (Connection c = postgres.open()) {
            assertThat(io.pgrouter.install.TriggerInstaller.replicaIdentity(c, "test.ident_install", "full"))
                    .isEqualTo("set REPLICA IDENTITY FULL on test.ident_install");
            assertThat(io.pgrouter.install.TriggerInstaller.replicaIdentity(c, "test.ident_install", "full"))
                    .isEqualTo("table test.ident_install already has REPLICA IDENTITY FULL");
            assertThat(ReplicaIdentities.read(c, Set.of("test.ident_install")).get("test.ident_install").full()).isTrue();
            assertThat(ReplicaIdentities.warnings(ReplicaIdentities.read(c, Set.of("test.ident_install")), "pgrouter")).isEmpty();
        }
    }

    /**
     * The README's latest-state query, run as printed on the lake in both formats, equals the table column by column
     * after updates that left a 200 kB TOAST value unsent, a value genuinely set to NULL, a new large value and a delete.
     */
    @Test
    void theReadmesLatestStateQueryEqualsTheTableAfterToastUnchangedUpdates() throws Exception {
        Sql.exec(insert("ident_default", 101, BIG), insert("ident_default", 102, BIG), insert("ident_default", 103, BIG),
                insert("ident_default", 104, BIG), insert("ident_default", 105, "'small'"));
        Sql.exec("UPDATE test.ident_default SET price = 1.01 WHERE id = 101", "UPDATE test.ident_default SET price = 1.02 WHERE id = 101");
        Sql.exec("UPDATE test.ident_default SET description = NULL WHERE id = 102", "UPDATE test.ident_default SET price = 2.02 WHERE id = 102");
        Sql.exec("UPDATE test.ident_default SET description = " + BIG + " WHERE id = 103",
                "UPDATE test.ident_default SET price = 3.03 WHERE id = 103");
        Sql.exec("DELETE FROM test.ident_default WHERE id = 104", "UPDATE test.ident_default SET title = 'renamed' WHERE id = 105");

        String jsonl = "read_json_auto('" + TestServers.lake.resolve("ident-jsonl/test.ident_default") + "/**/*.jsonl', hive_partitioning = true, "
                + "union_by_name = true)";
        String parquet = "read_parquet('" + TestServers.lake.resolve("ident-parquet/test.ident_default")
                + "/**/*.parquet', hive_partitioning = true, union_by_name = true)";
        for (String lake : List.of(jsonl, parquet)) {
            await().atMost(WAIT).ignoreExceptions().until(() -> DuckDb.count("SELECT count(*) FROM " + lake + " WHERE id BETWEEN 101 AND 105") == 13);
        }
        List<List<String>> table = new ArrayList<>();
        try (Connection c = TestServers.db.connect(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(
                "SELECT id, code, title, price, to_jsonb(tags)::text, md5(description), (extract(epoch FROM updated_at) * 1000000)::bigint "
                        + "FROM test.ident_default WHERE id BETWEEN 101 AND 105 ORDER BY id")) {
            while (rs.next()) {
                List<String> row = new ArrayList<>();
                for (int i = 1; i <= 7; i++) row.add(rs.getString(i));
                table.add(row);
            }
        }
        assertThat(table).hasSize(4);
        assertThat(table.get(1).get(5)).as("102's description was set to NULL").isNull();

        for (String lake : List.of(jsonl, parquet)) {
            String latest = readmeLatestStateQuery().replace(
                    "read_parquet('lake/marketplace.products/**/*.parquet', hive_partitioning = true, union_by_name = true)", lake);
            assertThat(latest).contains(lake);
            List<Map<String, Object>> rows = DuckDb.query("SELECT id, code, title, price::varchar AS price, to_json(tags)::varchar AS tags, "
                    + "md5(description) AS description, epoch_us(updated_at::timestamptz) AS updated_at FROM (" + latest.replace(";", "")
                    + ") WHERE id BETWEEN 101 AND 105 ORDER BY id");
            assertThat(rows).as(lake).hasSize(table.size());
            String[] names = {"id", "code", "title", "price", "tags", "description", "updated_at"};
            for (int r = 0; r < rows.size(); r++) {
                for (int col = 0; col < names.length; col++) {
                    Object lakeValue = rows.get(r).get(names[col]);
                    String pgValue = table.get(r).get(col);
                    String what = lake + " row " + table.get(r).get(0) + " column " + names[col];
                    if (pgValue == null || lakeValue == null) assertThat(lakeValue).as(what).isEqualTo(pgValue);
                    else if (names[col].equals("price")) assertThat(new BigDecimal(lakeValue.toString())).as(what).isEqualByComparingTo(pgValue);
                    else if (names[col].equals("tags")) assertThat(json(lakeValue.toString())).as(what).isEqualTo(json(pgValue));
                    else assertThat(lakeValue.toString()).as(what).isEqualTo(pgValue);
                }
            }
            // the delete row: the key, every other column NULL and listed as not sent
            Map<String, Object> delete = DuckDb.query("SELECT to_json(_unchanged)::varchar AS unchanged, title, price, description FROM " + lake
                    + " WHERE id = 104 AND _op = 'delete'").get(0);
            assertThat(delete.get("title")).as(lake).isNull();
            assertThat(delete.get("price")).as(lake).isNull();
            assertThat(json((String) delete.get("unchanged"))).as(lake)
                    .isEqualTo(json("[\"code\", \"title\", \"price\", \"tags\", \"description\", \"updated_at\"]"));
            // a price-only update: description not sent, and said so
            Map<String, Object> update = DuckDb.query("SELECT to_json(_unchanged)::varchar AS unchanged FROM " + lake
                    + " WHERE id = 101 AND _op = 'update' ORDER BY _lsn LIMIT 1").get(0);
            assertThat(json((String) update.get("unchanged"))).as(lake).isEqualTo(json("[\"description\"]"));
        }
    }

    /** The SQL block of docs/sinks/datalake.md that starts with "-- DuckDB: the latest state", up to its ';'. */
    static String readmeLatestStateQuery() throws Exception {
        String page = Files.readString(Path.of("docs/sinks/datalake.md"));
        int start = page.indexOf("-- DuckDB: the latest state");
        assertThat(start).as("the latest-state query of docs/sinks/datalake.md").isPositive();
        return page.substring(start, page.indexOf(';', start) + 1);
    }
}
