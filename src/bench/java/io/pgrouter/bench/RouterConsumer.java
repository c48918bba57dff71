package io.pgrouter.bench;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystems;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * The packaged router (target/quarkus-app/quarkus-run.jar) as a child process with one bench route, and a
 * watcher on the lake folder that route writes to. An event counts as arrived when the committed file holding it
 * appears under {@code <lake>/<schema.table>/dt=.../hour=.../} (JSON Lines or Parquet); the stamp is taken when the
 * harness saw the file.
 */
final class RouterConsumer implements Consumer {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final String name;
    private final Path jar;
    private final Path route;
    private final Path work;
    private final String jdbcUrl;
    private final String slot;
    private final String table;
    private final Arrivals arrivals = new Arrivals();

    private Process process;
    private int httpPort;
    private Thread tailer;
    private volatile boolean tailing;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    RouterConsumer(String name, Path jar, Path route, Path work, String jdbcUrl, String slot, String table) {
        this(name, jar, route, List.of(), work, jdbcUrl, slot, table);
    }

    private final List<Path> otherRoutes;
    private final String[] props;

    /** With more routes on the same source besides the measured one, and more router properties ({@code -Dname=value}). */
    RouterConsumer(String name, Path jar, Path route, List<Path> otherRoutes, Path work, String jdbcUrl, String slot, String table, String... props) {
        this.otherRoutes = otherRoutes;
        this.props = props;
        this.name = name;
        this.jar = jar;
        this.route = route;
        this.work = work;
        this.jdbcUrl = jdbcUrl;
        this.slot = slot;
        this.table = table;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public Arrivals arrivals() {
        return arrivals;
    }

    Path log() {
        return work.resolve("router.log");
    }

    /** The router's HTTP port (health, metrics). */
    int httpPort() {
        return httpPort;
    }

    @Override
    public void start() throws Exception {
        Path routes = Files.createDirectories(work.resolve("routes"));
        Files.copy(route, routes.resolve(route.getFileName()), StandardCopyOption.REPLACE_EXISTING);
        for (Path other : otherRoutes) Files.copy(other, routes.resolve(other.getFileName()), StandardCopyOption.REPLACE_EXISTING);
        Path lake = Files.createDirectories(work.resolve("lake"));
        httpPort = Procs.freePort();
        List<String> all = new ArrayList<>(List.of(props));
        all.add("-Dpgrouter.sinks.lake.root=" + lake);
        process = launch(jar, work, jdbcUrl, routes, slot, httpPort, log(), all.toArray(String[]::new));
        tailing = true;
        Path folder = lake.resolve(table);
        tailer = new Thread(() -> tail(folder), "bench-lake-tailer");
        tailer.setDaemon(true);
        tailer.start();
    }

    /**
     * Starts the packaged router on {@code routes} with its own slot and publication, and returns once
     * {@code /q/health/ready} answers 200; throws if it exits or is not ready within 120 s.
     */
    static Process launch(Path jar, Path work, String jdbcUrl, Path routes, String slot, int httpPort, Path log, String... props)
            throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx512m"));
        // extra JVM options for the router only, e.g. -Dbench.router.opts="-XX:StartFlightRecording=filename=r.jfr"
        String extra = System.getProperty("bench.router.opts", "").trim();
        if (!extra.isEmpty()) cmd.addAll(List.of(extra.split("\\s+")));
        cmd.addAll(List.of(
                "-Dpgrouter.postgres.url=" + jdbcUrl,
                "-Dpgrouter.postgres.user=postgres",
                "-Dpgrouter.routes.dir=" + routes,
                "-Dpgrouter.wal.slot=" + slot,
                "-Dpgrouter.wal.publication=" + slot,
                "-Dquarkus.http.host=127.0.0.1",
                "-Dquarkus.http.port=" + httpPort));
        cmd.addAll(List.of(props));
        cmd.addAll(List.of("-jar", jar.toString()));
        Process process = new ProcessBuilder(Procs.dieWithParent(cmd)).directory(work.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile()).start();
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        HttpRequest ready = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + "/q/health/ready"))
                .timeout(Duration.ofSeconds(2)).build();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException("the router exited with " + process.exitValue() + " while starting; see " + log);
            }
            try {
                if (http.send(ready, HttpResponse.BodyHandlers.discarding()).statusCode() == 200) return process;
            } catch (IOException e) {
                // not listening yet
            }
            Thread.sleep(100);
        }
        throw new IllegalStateException("the router was not ready within 120 s; see " + log);
    }

    /**
     * Watches the table's folder and its dt=/hour= folders (inotify through WatchService) for committed lake files:
     * the sink renames each file into place whole, so a file that appears is complete. Every row of it is stamped
     * with the moment the harness saw the file.
     */
    private void tail(Path folder) {
        try (WatchService watch = FileSystems.getDefault().newWatchService()) {
            Files.createDirectories(folder);
            Map<WatchKey, Path> dirs = new HashMap<>();
            Set<Path> seen = new HashSet<>();
            watchTree(folder, watch, dirs, seen, Arrivals.nowMicros());
            while (tailing) {
                WatchKey key = watch.poll(50, TimeUnit.MILLISECONDS);
                if (key == null) continue;
                long stamp = Arrivals.nowMicros();
                Path dir = dirs.get(key);
                for (WatchEvent<?> event : key.pollEvents()) {
                    if (event.kind() == StandardWatchEventKinds.OVERFLOW) {
                        watchTree(folder, watch, dirs, seen, stamp);
                        continue;
                    }
                    Path p = dir.resolve((Path) event.context());
                    if (Files.isDirectory(p)) watchTree(p, watch, dirs, seen, stamp);
                    else record(p, seen, stamp);
                }
                key.reset();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception | Error e) {
            System.err.println("[bench] lake watcher failed: " + e);
        }
    }

    private java.sql.Connection duckdb;

    /** A Parquet file's row count from its footer (DuckDB reads only the metadata for count(*)). */
    private long parquetRowCount(Path file) throws IOException {
        try {
            if (duckdb == null) duckdb = java.sql.DriverManager.getConnection("jdbc:duckdb:");
            try (java.sql.Statement s = duckdb.createStatement();
                    java.sql.ResultSet rs = s.executeQuery("SELECT count(*) FROM read_parquet('" + file + "')")) {
                rs.next();
                return rs.getLong(1);
            }
        } catch (java.sql.SQLException e) {
            throw new IOException(file + ": " + e.getMessage(), e);
        }
    }

    /** Watches {@code dir} and the folders below it, and takes the files already there (created before the watch). */
    private void watchTree(Path dir, WatchService watch, Map<WatchKey, Path> dirs, Set<Path> seen, long stamp) throws IOException {
        if (!dirs.containsValue(dir)) dirs.put(dir.register(watch, StandardWatchEventKinds.ENTRY_CREATE), dir);
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            for (Path p : entries) {
                if (Files.isDirectory(p)) watchTree(p, watch, dirs, seen, stamp);
                else record(p, seen, stamp);
            }
        }
    }

    /** One committed file: its JSON lines, or one item per Parquet row (decoded after the phase, in {@link #parse}). */
    private void record(Path file, Set<Path> seen, long stamp) throws IOException {
        String name = file.getFileName().toString();
        if (!name.startsWith("part-") || !seen.add(file)) return; // hidden .inprogress files are not committed yet
        lakeBytes.addAndGet(Files.size(file));
        if (name.endsWith(".parquet")) {
            long rows = parquetRowCount(file);
            lakeRows.addAndGet(rows);
            for (int i = 0; i < rows; i++) arrivals.add(stamp, new ParquetRow(file, i));
        } else {
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                if (line.isEmpty()) continue;
                lakeRows.incrementAndGet();
                arrivals.add(stamp, line);
            }
        }
    }

    private record ParquetRow(Path file, int index) {
    }

    private final AtomicLong lakeBytes = new AtomicLong();
    private final AtomicLong lakeRows = new AtomicLong();
    private final Map<Path, List<Seen>> parquetRows = new HashMap<>();

    @Override
    public double lakeBytesPerRow() {
        long rows = lakeRows.get();
        return rows == 0 ? Double.NaN : (double) lakeBytes.get() / rows;
    }

    @Override
    public Seen parse(Object item) throws Exception {
        if (item instanceof ParquetRow row) {
            return parquetRows.computeIfAbsent(row.file(), RouterConsumer::readParquet).get(row.index());
        }
        JsonNode line = JSON.readTree((String) item);
        long time = line.hasNonNull("_commit_time") ? micros(Instant.parse(line.get("_commit_time").asText())) : -1;
        return new Seen(line.path("txid").asLong(-1), line.path("n").asInt(-1), time);
    }

    /** A CloudEvent of a bench.events row reduced to (txid, n, time). */
    static Seen seen(String json) throws Exception {
        JsonNode line = JSON.readTree(json);
        JsonNode after = line.path("data").path("after");
        long time = line.hasNonNull("time") ? micros(Instant.parse(line.get("time").asText())) : -1;
        return new Seen(after.path("txid").asLong(-1), after.path("n").asInt(-1), time);
    }

    /** The rows of one lake Parquet file as DuckDB reads them. */
    private static List<Seen> readParquet(Path file) {
        List<Seen> rows = new ArrayList<>();
        try (java.sql.Connection c = java.sql.DriverManager.getConnection("jdbc:duckdb:"); java.sql.Statement s = c.createStatement();
                java.sql.ResultSet rs = s.executeQuery("SELECT txid, n, epoch_us(_commit_time) FROM read_parquet('" + file + "')")) {
            while (rs.next()) rows.add(new Seen(rs.getLong(1), rs.getInt(2), rs.getLong(3)));
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException(file + ": " + e.getMessage(), e);
        }
        return rows;
    }

    static long micros(Instant i) {
        return i.getEpochSecond() * 1_000_000L + i.getNano() / 1_000;
    }

    @Override
    public Process process() {
        return process;
    }

    /** Sum of jvm_memory_used_bytes{area="heap"} from the router's /q/metrics. */
    @Override
    public double heapUsedMiB() {
        try {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + "/q/metrics"))
                    .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
            double sum = 0;
            boolean found = false;
            for (String l : r.body().split("\n")) {
                if (l.startsWith("jvm_memory_used_bytes{") && l.contains("area=\"heap\"")) {
                    sum += Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1));
                    found = true;
                }
            }
            return found ? sum / (1024 * 1024) : -1;
        } catch (Exception e) {
            return -1;
        }
    }

    @Override
    public void close() {
        tailing = false;
        Procs.stop(process, 30_000);
        if (tailer != null) {
            try {
                tailer.join(2_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
