package io.pgrouter.packaged;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.ObjectMapper;

import io.pgrouter.testing.DuckDb;
import io.pgrouter.testing.RouterProcess;
import io.pgrouter.testing.Sql;
import io.pgrouter.testing.TestServers;

/**
 * Backfills against the packaged router and a real PostgreSQL: a table's existing rows reach the lake while other
 * sessions update and delete rows, and the lake's latest state equals the table afterwards, across a kill -9 of the
 * router mid-backfill; --where and --route narrow it; --cancel stops it; a table no route reads is refused.
 */
class BackfillIT {

    static final TestServers servers = new TestServers();
    static Map<String, String> config;
    static Path routes;
    /** Rows of the big table (-Dbackfill.rows to change; -Dbackfill.chunk sets the chunk size). */
    static final int ROWS = Integer.getInteger("backfill.rows", 100_000);
    static final int CANCEL_ROWS = 200_000;

    @BeforeAll
    static void startServers() throws Exception {
        config = new HashMap<>(servers.start());
        config.put("quarkus.http.port", "0");
        config.put("pgrouter.wal.slot", "backfill");
        config.put("pgrouter.wal.publication", "backfill");
        config.put("pgrouter.wal.backfill-chunk-size", System.getProperty("backfill.chunk", "4096"));
        Path routes = Files.createTempDirectory("routes");
        String lake = "kamelet:datalake-sink?target={{pgrouter.sinks.lake.root}}";
        Files.writeString(routes.resolve("big-to-lake.yaml"), RoutesCheckIT.route("big-to-lake", "test.backfill_big", lake + "&format=parquet"));
        Files.writeString(routes.resolve("few-to-lake-a.yaml"), RoutesCheckIT.route("few-to-lake-a", "test.backfill_few", lake + "/a"));
        Files.writeString(routes.resolve("few-to-lake-b.yaml"), RoutesCheckIT.route("few-to-lake-b", "test.backfill_few", lake + "/b"));
        Files.writeString(routes.resolve("cancel-to-lake.yaml"), RoutesCheckIT.route("cancel-to-lake", "test.backfill_cancel", lake + "&format=parquet"));
        Files.writeString(routes.resolve("probe-to-webhook.yaml"), RoutesCheckIT.route("probe-to-webhook", "test.backfill_probe",
                "kamelet:webhook-sink?url={{pgrouter.test.receiver}}/probe"));
        config.put("pgrouter.routes.dir", routes.toString());
        BackfillIT.routes = routes;
        // rows written before the router's slot exists: only a backfill can send them
        Sql.exec("CREATE TABLE test.backfill_big (id int PRIMARY KEY, version int NOT NULL, note text)",
                "INSERT INTO test.backfill_big SELECT i, 1, md5(i::text) FROM generate_series(1, " + ROWS + ") i",
                "CREATE TABLE test.backfill_few (id int PRIMARY KEY, note text)",
                "INSERT INTO test.backfill_few SELECT i, 'old ' || i FROM generate_series(1, 1000) i",
                "CREATE TABLE test.backfill_cancel (id int PRIMARY KEY, note text)",
                "INSERT INTO test.backfill_cancel SELECT i, md5(i::text) FROM generate_series(1, " + CANCEL_ROWS + ") i",
                "CREATE TABLE test.backfill_probe (id int PRIMARY KEY)",
                "CREATE TABLE test.backfill_unread (id int PRIMARY KEY)",
                "CREATE TABLE test.backfill_added (id int PRIMARY KEY, note text)",
                "INSERT INTO test.backfill_added SELECT i, 'before the route' FROM generate_series(1, 500) i",
                "ANALYZE");
    }

    @AfterAll
    static void stopServers() {
        servers.stop();
    }

    record Run(int code, String output) {
    }

    /** bin/pgrouter as a user runs it, with the test database's settings in the environment. */
    static Run pgrouter(String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of("bin/pgrouter").toAbsolutePath().toString()));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).directory(Files.createTempDirectory("backfill-cmd").toFile());
        pb.environment().keySet().removeIf(name -> name.startsWith("PGROUTER_") || name.equals("JAVA_OPTS"));
        pb.environment().put("PGROUTER_POSTGRES_URL", config.get("pgrouter.postgres.url"));
        pb.environment().put("PGROUTER_POSTGRES_USER", config.get("pgrouter.postgres.user"));
        pb.environment().put("PGROUTER_POSTGRES_PASSWORD", config.get("pgrouter.postgres.password"));
        pb.environment().put("PGROUTER_WAL_PUBLICATION", "backfill");
        Process p = pb.start();
        assertThat(p.waitFor(600, TimeUnit.SECONDS)).as("bin/pgrouter " + String.join(" ", args) + " ended").isTrue();
        return new Run(p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
    }

    static long backfillRows(String table, String column) {
        return Sql.count("SELECT coalesce(max(" + column + "), -1) FROM pgrouter.backfills WHERE table_name = '" + table + "'");
    }

    static String status(String table) {
        return Sql.text("SELECT status FROM pgrouter.backfills WHERE table_name = '" + table + "' ORDER BY requested_at DESC LIMIT 1");
    }

    static void awaitStreaming() {
        await().atMost(Duration.ofSeconds(90)).until(() -> Sql.count("SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'backfill' AND active") == 1);
    }

    static String lake(String folder) {
        return "read_parquet('" + TestServers.lake.resolve(folder) + "/**/*.parquet', hive_partitioning = true, union_by_name = true)";
    }

    @Test
    void aBackfillWhileRowsChangeLeavesTheLakeEqualToTheTableAcrossAKillOfTheRouter() throws Exception {
        AtomicBoolean writing = new AtomicBoolean(true);
        AtomicLong changes = new AtomicLong();
        Thread writer = new Thread(() -> {
            int nextId = ROWS + 1;
            try (Connection c = TestServers.db.connect()) {
                c.setAutoCommit(false);
                while (writing.get()) {
                    ThreadLocalRandom r = ThreadLocalRandom.current();
                    try (var s = c.createStatement()) {
                        for (int i = 0; i < 5; i++) {
                            int id = 1 + r.nextInt(ROWS);
                            s.addBatch(r.nextInt(4) == 0 ? "DELETE FROM test.backfill_big WHERE id = " + id
                                    : "UPDATE test.backfill_big SET version = version + 1, note = md5(random()::text) WHERE id = " + id);
                        }
                        s.addBatch("INSERT INTO test.backfill_big VALUES (" + nextId++ + ", 1, 'new')");
                        s.executeBatch();
                    }
                    c.commit();
                    changes.addAndGet(6);
                    Thread.sleep(5); // ~1,000 changes/s: a steady live load beside the backfill
                }
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }, "backfill-writer");
        // live latency: a single-row transaction every 50 ms to a webhook route, before and during the backfill
        Map<Integer, Long> probeSent = new ConcurrentHashMap<>();
        Thread probe = new Thread(() -> {
            try (Connection c = TestServers.db.connect(); PreparedStatement ps = c.prepareStatement("INSERT INTO test.backfill_probe VALUES (?)")) {
                for (int id = 1; writing.get(); id++) {
                    ps.setInt(1, id);
                    ps.executeUpdate();
                    probeSent.put(id, System.currentTimeMillis());
                    Thread.sleep(50);
                }
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }, "backfill-probe");

        try {
            backfillUnderLoad(writing, changes, writer, probe, probeSent);
        } finally {
            writing.set(false); // a failed check must not leave the writers running into the next test
        }
    }

    void backfillUnderLoad(AtomicBoolean writing, AtomicLong changes, Thread writer, Thread probe, Map<Integer, Long> probeSent) throws Exception {
        long backfillFrom, resumedFrom, backfillTo;
        long killedAtRows;
        double firstRunRate;
        try (RouterProcess first = RouterProcess.start(config)) {
            awaitStreaming();
            writer.start();
            probe.start();
            await().atMost(Duration.ofSeconds(60)).until(() -> TestServers.webhook.attempts("/probe").size() >= 100); // baseline
            backfillFrom = System.currentTimeMillis();
            Run requested = pgrouter("backfill", "--table", "test.backfill_big");
            assertThat(requested.code()).as(requested.output()).isZero();
            assertThat(requested.output()).containsPattern("backfill \\S+ of test.backfill_big requested: \\d+ rows, to every route reading the table");
            // kill -9 a third of the way through
            await().atMost(Duration.ofSeconds(300)).until(() -> backfillRows("test.backfill_big", "rows_done") >= ROWS / 4);
            firstRunRate = Sql.count("SELECT (rows_done / greatest(extract(epoch FROM updated_at - started_at), 0.001))::bigint "
                    + "FROM pgrouter.backfills WHERE table_name = 'test.backfill_big'");
            killedAtRows = backfillRows("test.backfill_big", "rows_done");
            first.kill();
        }
        assertThat(status("test.backfill_big")).isEqualTo("running");

        String summary;
        try (RouterProcess second = RouterProcess.start(config)) {
            var follow = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                try {
                    return pgrouter("backfill", "--table", "test.backfill_big", "--wait");
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            // live latency is measured while the resumed backfill runs (the probes cut off by the kill would count the restart)
            await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(100)).until(() -> backfillRows("test.backfill_big", "rows_done") > killedAtRows);
            resumedFrom = System.currentTimeMillis();
            await().atMost(Duration.ofSeconds(300)).pollInterval(Duration.ofMillis(100)).until(() -> "done".equals(status("test.backfill_big")));
            backfillTo = System.currentTimeMillis();
            Run waited = follow.get(60, TimeUnit.SECONDS);
            summary = Sql.text("SELECT detail FROM pgrouter.backfills WHERE table_name = 'test.backfill_big'");
            assertThat(waited.code()).as(waited.output()).isZero();
            assertThat(waited.output()).contains("following backfill", "running, ").containsPattern("\ndone, \\d+ rows in");
            writing.set(false);
            writer.join();
            probe.join();
            // the lake's latest state per key (the query of docs/sinks/datalake.md) equals the table
            await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofSeconds(1)).ignoreExceptions()
                    .untilAsserted(() -> assertThat(lakeState()).isEqualTo(tableState()));
            assertThat(second.output()).containsPattern("backfill \\S+ of test.backfill_big done");
        }
        long snapshots = DuckDb.count("SELECT count(*) FROM " + lake("test.backfill_big") + " WHERE _op = 'snapshot'");
        List<Long> before = new ArrayList<>(), during = new ArrayList<>();
        for (var a : TestServers.webhook.attempts("/probe")) {
            int id = new ObjectMapper().readTree(a.request().body()).path("data").path("after").path("id").asInt();
            Long sent = probeSent.get(id);
            if (sent == null) continue;
            if (sent < backfillFrom) before.add(a.receivedAtMillis() - sent);
            else if (sent >= resumedFrom && sent < backfillTo) during.add(a.receivedAtMillis() - sent);
        }
        System.out.printf("BACKFILL %d rows, %d live changes meanwhile: %d rows/s before the kill (at %d rows); after the restart %s; %d snapshot "
                + "events in the lake (rows sent again after the kill included); live commit-to-webhook latency p50/p99 without a backfill %s ms "
                + "(%d probes), during the resumed backfill %s ms (%d probes)%n", ROWS, changes.get(), Math.round(firstRunRate), killedAtRows, summary,
                snapshots, percentiles(before), before.size(), percentiles(during), during.size());
        assertThat(snapshots).isGreaterThanOrEqualTo(ROWS * 2L / 3); // rows deleted before their chunk was read are not sent
    }

    static String percentiles(List<Long> values) {
        if (values.isEmpty()) return "n/a";
        List<Long> sorted = values.stream().sorted().toList();
        return sorted.get(sorted.size() / 2) + "/" + sorted.get(Math.min(sorted.size() - 1, sorted.size() * 99 / 100));
    }

    static Map<Integer, String> tableState() throws Exception {
        Map<Integer, String> rows = new HashMap<>();
        try (Connection c = TestServers.db.connect(); var s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT id, version, note FROM test.backfill_big")) {
            while (rs.next()) rows.put(rs.getInt(1), rs.getInt(2) + "/" + rs.getString(3));
        }
        return rows;
    }

    static Map<Integer, String> lakeState() {
        Map<Integer, String> rows = new HashMap<>();
        for (Map<String, Object> r : DuckDb.query("SELECT id, version, note FROM " + lake("test.backfill_big")
                + " QUALIFY row_number() OVER (PARTITION BY id ORDER BY _lsn DESC) = 1 AND _op <> 'delete'")) {
            rows.put(((Number) r.get("id")).intValue(), ((Number) r.get("version")).intValue() + "/" + r.get("note"));
        }
        return rows;
    }

    @Test
    void whereAndRouteNarrowABackfillAndMistakesAreRefusedWithTheReason() throws Exception {
        int port = WalSourceFaultsIT.freePort();
        Map<String, String> c = new HashMap<>(config);
        c.put("quarkus.http.port", String.valueOf(port));
        try (RouterProcess router = RouterProcess.start(c)) {
            awaitStreaming();
            Run unread = pgrouter("backfill", "--table", "test.backfill_unread");
            assertThat(unread.code()).isEqualTo(1);
            assertThat(unread.output().strip()).isEqualTo("backfill failed: no route reads table test.backfill_unread (it is not in publication "
                    + "backfill): add a pg:wal route with tables: test.backfill_unread (or list it in pgrouter.wal.tables), let the router pick "
                    + "it up, then run the backfill again");
            Run badWhere = pgrouter("backfill", "--table", "test.backfill_few", "--where", "nope > 1");
            assertThat(badWhere.code()).isEqualTo(1);
            assertThat(badWhere.output()).startsWith("backfill failed: --where \"nope > 1\" is not a condition on test.backfill_few that PostgreSQL accepts");
            Run badRoute = pgrouter("backfill", "--table", "test.backfill_few", "--route", "nope", "--wait");
            assertThat(badRoute.code()).as(badRoute.output()).isEqualTo(1);
            assertThat(badRoute.output()).contains("\nfailed: route nope does not read table test.backfill_few (routes reading it: few-to-lake-a, few-to-lake-b)");

            Run run = pgrouter("backfill", "--table", "test.backfill_few", "--where", "id % 10 = 0", "--route", "few-to-lake-a", "--wait");
            assertThat(run.code()).as(run.output()).isZero();
            assertThat(run.output()).contains("requested: 100 rows where id % 10 = 0, to route few-to-lake-a only", "\ndone, 100 rows in");
            Sql.exec("INSERT INTO test.backfill_few VALUES (1001, 'live')");
            String a = "read_json_auto('" + TestServers.lake.resolve("a/test.backfill_few") + "/**/*.jsonl')";
            String b = "read_json_auto('" + TestServers.lake.resolve("b/test.backfill_few") + "/**/*.jsonl')";
            // the live row reaches both routes: everything before it has been routed too
            await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> DuckDb.count("SELECT count(*) FROM " + a + " WHERE id = 1001") == 1
                    && DuckDb.count("SELECT count(*) FROM " + b + " WHERE id = 1001") == 1);
            assertThat(DuckDb.count("SELECT count(*) FROM " + a + " WHERE _op = 'snapshot'")).isEqualTo(100);
            assertThat(DuckDb.count("SELECT count(*) FROM " + a + " WHERE _op = 'snapshot' AND id % 10 <> 0")).isZero();
            assertThat(DuckDb.count("SELECT count(*) FROM " + b + " WHERE _op = 'snapshot'")).isZero();
            // how it ended, in health data and the metric
            // the router's own view follows its notifications from Debezium: the command may see "done" in the table first
            await().atMost(Duration.ofSeconds(20)).until(() -> java.util.regex.Pattern.compile("\"backfill test.backfill_few\" ?: ?\"done, 100 rows in \\d+ s")
                    .matcher(WalSourceFaultsIT.readiness(port).body()).find());
            String metrics = java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(
                    java.net.URI.create("http://127.0.0.1:" + port + "/q/metrics")).build(), java.net.http.HttpResponse.BodyHandlers.ofString()).body();
            assertThat(metrics).contains("pgrouter_backfill_rows_total{table=\"test.backfill_few\"} 100.0");
        }
    }

    @Test
    void cancelStopsARunningBackfill() throws Exception {
        try (RouterProcess router = RouterProcess.start(config)) {
            awaitStreaming();
            Run run = pgrouter("backfill", "--table", "test.backfill_cancel");
            assertThat(run.code()).as(run.output()).isZero();
            await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(50)).until(() -> backfillRows("test.backfill_cancel", "rows_done") > 0);
            Run cancel = pgrouter("backfill", "--table", "test.backfill_cancel", "--cancel", "--wait");
            assertThat(cancel.code()).as(cancel.output()).isEqualTo(1);
            assertThat(cancel.output()).contains("cancel requested at", "\ncancelled, ");
            assertThat(status("test.backfill_cancel")).isEqualTo("cancelled");
            long sent = backfillRows("test.backfill_cancel", "rows_done");
            assertThat(sent).isPositive().isLessThan(CANCEL_ROWS);
            Sql.exec("INSERT INTO test.backfill_cancel VALUES (" + (CANCEL_ROWS + 1) + ", 'live')");
            await().atMost(Duration.ofSeconds(30)).ignoreExceptions()
                    .until(() -> DuckDb.count("SELECT count(*) FROM " + lake("test.backfill_cancel") + " WHERE id = " + (CANCEL_ROWS + 1)) == 1);
            // a chunk read before Debezium took the cancel may still arrive after it: never the whole table
            assertThat(DuckDb.count("SELECT count(*) FROM " + lake("test.backfill_cancel") + " WHERE _op = 'snapshot'")).isGreaterThanOrEqualTo(sent)
                    .isLessThan(CANCEL_ROWS);
        }
    }

    @Test
    void withBackfillNewTablesARouteAddedWhileRunningGetsItsTablesExistingRows() throws Exception {
        Map<String, String> c = new HashMap<>(config);
        c.put("pgrouter.wal.backfill-new-tables", "true");
        c.put("pgrouter.routes.reload-interval-ms", "200");
        Path added = routes.resolve("added-to-lake.yaml");
        try (RouterProcess router = RouterProcess.start(c)) {
            awaitStreaming();
            Files.writeString(added, RoutesCheckIT.route("added-to-lake", "test.backfill_added", "kamelet:datalake-sink?target={{pgrouter.sinks.lake.root}}/added"));
            String lake = "read_json_auto('" + TestServers.lake.resolve("added/test.backfill_added") + "/**/*.jsonl')";
            await().atMost(Duration.ofSeconds(90)).ignoreExceptions().until(() -> "done".equals(status("test.backfill_added")));
            Sql.exec("UPDATE test.backfill_added SET note = 'after the route' WHERE id = 1");
            await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> DuckDb.count("SELECT count(*) FROM " + lake + " WHERE _op = 'update'") == 1);
            assertThat(DuckDb.count("SELECT count(DISTINCT id) FROM " + lake + " WHERE _op = 'snapshot'")).isEqualTo(500);
            assertThat(router.output()).contains("backfill", "of the new routes' table test.backfill_added requested (pgrouter.wal.backfill-new-tables): 500 rows");
        } finally {
            Files.deleteIfExists(added);
        }
    }
}
