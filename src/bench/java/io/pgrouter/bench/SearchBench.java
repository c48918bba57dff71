package io.pgrouter.bench;

import java.io.IOException;
import java.net.URI;
import java.net.URL;
import java.net.URLClassLoader;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.pgrouter.demo.EmbeddedDatabase;
import io.pgrouter.testing.OpenSearchNode;

/**
 * WAL -> search index benchmark (bench/search.sh): the packaged router with
 * {@code pg:wal?tables=bench.items -> kamelet:search-index-sink}, an OpenSearch 2.19 node in its own JVM
 * ({@link OpenSearchNode}, 1 GB heap, one shard, no replica), embedded PostgreSQL.
 *
 * Throughput: rows written flat out in 10,000-row transactions; documents/s = rows / (the index's _count of them
 * reaches all of them - first statement sent), so it includes up to one refresh interval. Updates of the same rows
 * (every one a merge: the stored document is read with _mget) are measured the same way, by a changed field.
 * Latency commit -> searchable: 1-row transactions paced at a fixed rate; a poller searches every 20 ms for the new
 * ids; latency = the poll whose answer first holds the id - the writer's clock when its commit returned.
 */
public final class SearchBench {

    static final int ROWS = Integer.getInteger("bench.search.rows", 100_000);
    static final int TX_ROWS = Integer.getInteger("bench.search.tx.rows", 10_000);
    static final int REPEATS = Integer.getInteger("bench.search.repeats", 3);
    static final int PACED = Integer.getInteger("bench.search.paced", 1000);
    static final int PACED_RATE = Integer.getInteger("bench.search.paced.rate", 100);
    static final int WARMUP = Integer.getInteger("bench.search.warmup", 100_000);
    static final String SINK_PARAMS = System.getProperty("bench.search.sink.params", "");

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    private static String node;

    private SearchBench() {
    }

    public static void main(String... args) throws Exception {
        Bench.runHarness(SearchBench::run);
    }

    private static void run() throws Exception {
        Path root = Path.of("").toAbsolutePath();
        Path jar = root.resolve("target/quarkus-app/quarkus-run.jar");
        if (!Files.isRegularFile(jar)) throw new IllegalStateException(jar + " is missing: build the router first (bench/search.sh does)");
        Path work = root.resolve("target/bench-search");
        Bench.deleteTree(work);
        Files.createDirectories(work);

        Bench.say("starting PostgreSQL (embedded, wal_level=logical) under %s", work.resolve("pg"));
        EmbeddedDatabase db = Bench.open(new EmbeddedDatabase(work.resolve("pg"), 0).start());
        Connection writer = Bench.open(db.connect());
        try (Statement s = writer.createStatement()) {
            s.execute("CREATE SCHEMA bench");
            s.execute("CREATE TABLE bench.items (id bigint PRIMARY KEY, title text NOT NULL, price numeric(10, 2), qty int, body text)");
        }

        Process search = startNode(work, "1g");
        awaitNode(search);
        // an explicit mapping, as a user would give (dynamic mapping would index every string twice: text and keyword)
        call("PUT", "/bench-items", "{\"settings\": {\"number_of_shards\": 1, \"number_of_replicas\": 0, \"refresh_interval\": \"1s\"}, "
                + "\"mappings\": {\"properties\": {\"id\": {\"type\": \"long\"}, \"title\": {\"type\": \"text\"}, "
                + "\"price\": {\"type\": \"scaled_float\", \"scaling_factor\": 100}, \"qty\": {\"type\": \"integer\"}, \"body\": {\"type\": \"text\"}}}}");

        Path routes = Files.createDirectories(work.resolve("routes"));
        Files.writeString(routes.resolve("wal-bench-items-to-search.yaml"), """
                # written by SearchBench: every committed change to bench.items kept in the bench-items index
                - route:
                    id: bench-wal-to-search
                    from:
                      uri: pg:wal
                      parameters:
                        tables: bench.items
                      steps:
                        - to: "kamelet:search-index-sink?urls=%s&index=bench-${table}%s"
                """.formatted(node, SINK_PARAMS.isEmpty() ? "" : "&" + SINK_PARAMS));
        Bench.say("starting the packaged router (pg:wal -> search-index-sink)");
        Process router = RouterConsumer.launch(jar, work, db.jdbcUrl(), routes, "bench_search", Procs.freePort(), work.resolve("router.log"));
        Bench.open(() -> Procs.stop(router, 30_000));

        long next = 1;
        Bench.say("warm-up: %,d rows", WARMUP);
        insert(writer, next, WARMUP);
        awaitCount("{\"range\": {\"id\": {\"gte\": 1, \"lte\": " + WARMUP + "}}}", WARMUP, 300);
        next += WARMUP;

        double[] inserts = new double[REPEATS];
        double[] updates = new double[REPEATS];
        for (int r = 0; r < REPEATS; r++) {
            long first = next;
            long last = next + ROWS - 1;
            long t0 = System.nanoTime();
            insert(writer, first, ROWS);
            double writerSec = (System.nanoTime() - t0) / 1e9;
            awaitCount("{\"range\": {\"id\": {\"gte\": " + first + ", \"lte\": " + last + "}}}", ROWS, 300);
            inserts[r] = ROWS / ((System.nanoTime() - t0) / 1e9);
            Bench.say("inserts %d: %,d documents/s (writer %,.0f rows/s)", r + 1, (long) inserts[r], ROWS / writerSec);

            t0 = System.nanoTime();
            for (long from = first; from <= last; from += TX_ROWS) {
                try (Statement s = writer.createStatement()) {
                    s.executeUpdate("UPDATE bench.items SET qty = " + (r + 1000) + " WHERE id BETWEEN " + from + " AND " + (from + TX_ROWS - 1));
                }
            }
            awaitCount("{\"bool\": {\"filter\": [{\"range\": {\"id\": {\"gte\": " + first + ", \"lte\": " + last + "}}}, {\"term\": {\"qty\": " + (r + 1000)
                    + "}}]}}", ROWS, 300);
            updates[r] = ROWS / ((System.nanoTime() - t0) / 1e9);
            Bench.say("updates %d: %,d documents/s", r + 1, (long) updates[r]);
            next += ROWS;
        }

        StringBuilder out = new StringBuilder();
        out.append("## WAL -> search index (OpenSearch 2.19, own JVM, 1 shard, 0 replicas, explicit mapping)\n\n");
        out.append(String.format(Locale.ROOT, "Router sink options: %s. Rows: id, title, price numeric, qty, body (~100 characters).%n%n",
                SINK_PARAMS.isEmpty() ? "defaults (bulkMaxActions=1000, refresh=false)" : SINK_PARAMS));
        out.append("| what | documents/s, median [min–max] of ").append(REPEATS).append(" |\n|---|---:|\n");
        out.append(String.format(Locale.ROOT, "| insert, %,d rows in %,d-row tx, refresh_interval 1 s (counted when searchable) | %s |%n", ROWS, TX_ROWS, spread(inserts)));
        out.append(String.format(Locale.ROOT, "| update of the same rows (merge: _mget + index) | %s |%n%n", spread(updates)));

        out.append("| commit → searchable, ").append(PACED).append(" × 1-row tx at ").append(PACED_RATE).append(" tx/s | p50 ms | p99 ms | max ms |\n|---|---:|---:|---:|\n");
        for (String interval : List.of("1s", "100ms")) {
            call("PUT", "/bench-items/_settings", "{\"index\": {\"refresh_interval\": \"" + interval + "\"}}");
            double[] latencies = paced(writer, next, PACED, PACED_RATE);
            next += PACED;
            Arrays.sort(latencies);
            out.append(String.format(Locale.ROOT, "| refresh_interval %s | %.0f | %.0f | %.0f |%n", interval, Bench.percentile(latencies, 50),
                    Bench.percentile(latencies, 99), latencies[latencies.length - 1]));
        }
        out.append(String.format(Locale.ROOT, "%nRouter CPU %.1f s, OpenSearch CPU %.1f s over the run; load average at the end %s.%n",
                Procs.cpuSeconds(router.pid()), Procs.cpuSeconds(search.pid()), Bench.loadAverage()));
        System.out.println();
        System.out.println(out);
        Files.writeString(work.resolve("results.md"), out);
    }

    private static String spread(double[] v) {
        double[] sorted = v.clone();
        Arrays.sort(sorted);
        return String.format(Locale.ROOT, "%,.0f [%,.0f–%,.0f]", Bench.median(sorted), sorted[0], sorted[sorted.length - 1]);
    }

    private static void insert(Connection writer, long first, int rows) throws Exception {
        try (PreparedStatement ps = writer.prepareStatement("INSERT INTO bench.items (id, title, price, qty, body) SELECT g, 'item ' || g, g % 1000 + 0.99, "
                + "g % 7, repeat('x', 100) FROM generate_series(?::bigint, ?::bigint) g")) {
            for (long from = first; from < first + rows; from += TX_ROWS) {
                ps.setLong(1, from);
                ps.setLong(2, Math.min(from + TX_ROWS, first + rows) - 1);
                ps.executeUpdate();
            }
        }
    }

    /** Paced 1-row inserts; returns commit -> searchable in ms for each, seen by a poller searching every 20 ms. */
    private static double[] paced(Connection writer, long first, int count, int perSecond) throws Exception {
        long[] committed = new long[count];
        ConcurrentHashMap<Long, Long> seen = new ConcurrentHashMap<>();
        Thread poller = new Thread(() -> {
            while (seen.size() < count && !Thread.currentThread().isInterrupted()) {
                try {
                    long at = System.nanoTime();
                    JsonNode hits = call("POST", "/bench-items/_search", "{\"size\": 10000, \"_source\": false, \"query\": {\"range\": {\"id\": {\"gte\": "
                            + first + ", \"lt\": " + (first + count) + "}}}}").path("hits").path("hits");
                    for (JsonNode hit : hits) seen.putIfAbsent(hit.path("_id").asLong(), at);
                    LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
                } catch (Exception e) {
                    return;
                }
            }
        }, "search-poller");
        poller.start();
        long t0 = System.nanoTime();
        long step = 1_000_000_000L / perSecond;
        try (PreparedStatement ps = writer.prepareStatement("INSERT INTO bench.items (id, title, price, qty, body) VALUES (?, 'paced', 1, 1, 'x')")) {
            for (int i = 0; i < count; i++) {
                long wait = t0 + i * step - System.nanoTime();
                if (wait > 0) LockSupport.parkNanos(wait);
                ps.setLong(1, first + i);
                ps.executeUpdate();
                committed[i] = System.nanoTime();
            }
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (seen.size() < count && System.nanoTime() < deadline) Thread.sleep(50);
        poller.interrupt();
        poller.join();
        if (seen.size() < count) throw new IllegalStateException("only " + seen.size() + " of " + count + " paced rows became searchable");
        double[] latencies = new double[count];
        for (int i = 0; i < count; i++) latencies[i] = (seen.get(first + i) - committed[i]) / 1e6;
        return latencies;
    }

    private static void awaitCount(String query, long expected, int seconds) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        long count = -1;
        while (System.nanoTime() < deadline) {
            count = call("POST", "/bench-items/_count", "{\"query\": " + query + "}").path("count").asLong();
            if (count >= expected) return;
            Thread.sleep(20);
        }
        throw new IllegalStateException("the index holds " + count + " of " + expected + " documents after " + seconds + " s; see target/bench-search/router.log");
    }

    /**
     * Starts an OpenSearch 2.19 node in its own JVM ({@code heap} for -Xms and -Xmx) under {@code work/opensearch}, log in
     * {@code work/opensearch.log}, stopped when the harness ends; {@link #call} then talks to it. Returns at once:
     * {@link #awaitNode} waits until it answers.
     */
    static Process startNode(Path work, String heap) throws IOException {
        int httpPort = Procs.freePort();
        node = "http://127.0.0.1:" + httpPort;
        Bench.say("starting OpenSearch 2.19 in its own JVM (-Xmx%s) on %s", heap, node);
        List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xms" + heap, "-Xmx" + heap, "-cp", classpath(),
                OpenSearchNode.class.getName(), work.resolve("opensearch").toString(), String.valueOf(httpPort), String.valueOf(Procs.freePort()));
        Process search = new ProcessBuilder(Procs.dieWithParent(cmd)).redirectErrorStream(true).redirectOutput(work.resolve("opensearch.log").toFile()).start();
        Bench.open(() -> Procs.stop(search, 30_000));
        return search;
    }

    /** The node {@link #startNode} started. */
    static String node() {
        return node;
    }

    static void awaitNode(Process search) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (System.nanoTime() < deadline) {
            if (!search.isAlive()) throw new IllegalStateException("OpenSearch exited; see opensearch.log in the bench's folder");
            try {
                call("GET", "/_cluster/health?wait_for_status=yellow&timeout=1s", null);
                return;
            } catch (IOException | IllegalStateException notYet) {
                Thread.sleep(200);
            }
        }
        throw new IllegalStateException("OpenSearch did not start within 120 s");
    }

    static JsonNode call(String method, String path, String body) throws IOException, InterruptedException {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(node + path)).timeout(Duration.ofSeconds(30))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (body != null) request.header("Content-Type", "application/json");
        HttpResponse<String> response = HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() / 100 != 2) throw new IllegalStateException(method + " " + path + " answered " + response.statusCode() + ": " + response.body());
        return JSON.readTree(response.body());
    }

    /** The harness' classpath (exec:java runs it in a class loader of its own), for the node's JVM. */
    private static String classpath() {
        List<String> entries = new ArrayList<>();
        for (ClassLoader l = Thread.currentThread().getContextClassLoader(); l != null; l = l.getParent()) {
            if (l instanceof URLClassLoader u) {
                for (URL url : u.getURLs()) {
                    try {
                        entries.add(Path.of(url.toURI()).toString());
                    } catch (Exception e) {
                        entries.add(url.getPath());
                    }
                }
            }
        }
        return entries.isEmpty() ? System.getProperty("java.class.path") : String.join(java.io.File.pathSeparator, entries);
    }
}
