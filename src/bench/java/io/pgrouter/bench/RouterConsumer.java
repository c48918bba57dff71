package io.pgrouter.bench;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * The packaged router (target/quarkus-app/quarkus-run.jar) as a child process with one bench route, and a
 * tailing reader on the lake file that route appends to. An event counts as arrived when its complete line
 * (newline included) is readable in {@code <lake>/<schema.table>/dt=* /events.jsonl}; the stamp is taken when
 * the read() that returned the line's last byte came back.
 */
final class RouterConsumer implements Consumer {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long POLL_NANOS = 200_000; // the tailer looks every 0.2 ms
    private static final long RESCAN_NANOS = 20_000_000; // and for new dt=... folders every 20 ms

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

    @Override
    public void start() throws Exception {
        Path routes = Files.createDirectories(work.resolve("routes"));
        Files.copy(route, routes.resolve(route.getFileName()), StandardCopyOption.REPLACE_EXISTING);
        Path lake = Files.createDirectories(work.resolve("lake"));
        httpPort = Procs.freePort();
        process = launch(jar, work, jdbcUrl, routes, slot, httpPort, log(), "-Dpgrouter.sinks.lake.root=" + lake);
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

    /** Follows every dt=.../events.jsonl under the table's folder, reading from where it left off. */
    private void tail(Path folder) {
        Map<Path, FileChannel> files = new LinkedHashMap<>();
        Map<Path, Long> positions = new LinkedHashMap<>();
        Map<Path, java.io.ByteArrayOutputStream> partial = new LinkedHashMap<>();
        ByteBuffer buffer = ByteBuffer.allocate(1 << 20);
        long nextScan = 0;
        try {
            while (tailing) {
                if (System.nanoTime() >= nextScan) {
                    if (Files.isDirectory(folder)) {
                        try (DirectoryStream<Path> days = Files.newDirectoryStream(folder, "dt=*")) {
                            for (Path day : days) {
                                Path f = day.resolve("events.jsonl");
                                if (!files.containsKey(f) && Files.exists(f)) {
                                    files.put(f, FileChannel.open(f, StandardOpenOption.READ));
                                    positions.put(f, 0L);
                                    partial.put(f, new java.io.ByteArrayOutputStream());
                                }
                            }
                        }
                    }
                    nextScan = System.nanoTime() + RESCAN_NANOS;
                }
                boolean got = false;
                for (Map.Entry<Path, FileChannel> e : files.entrySet()) {
                    Path f = e.getKey();
                    long pos = positions.get(f);
                    while (true) {
                        buffer.clear();
                        int r = e.getValue().read(buffer, pos);
                        if (r <= 0) break;
                        long stamp = Arrivals.nowMicros();
                        got = true;
                        pos += r;
                        java.io.ByteArrayOutputStream line = partial.get(f);
                        byte[] a = buffer.array();
                        int from = 0;
                        for (int i = 0; i < r; i++) {
                            if (a[i] == '\n') {
                                line.write(a, from, i - from);
                                if (line.size() > 0) arrivals.add(stamp, line.toString(StandardCharsets.UTF_8));
                                line.reset();
                                from = i + 1;
                            }
                        }
                        line.write(a, from, r - from);
                    }
                    positions.put(f, pos);
                }
                if (!got) LockSupport.parkNanos(POLL_NANOS);
            }
        } catch (IOException e) {
            System.err.println("[bench] lake tailer failed: " + e);
        } finally {
            files.values().forEach(ch -> {
                try {
                    ch.close();
                } catch (IOException ignored) {
                    // closing
                }
            });
        }
    }

    @Override
    public Seen parse(Object item) throws Exception {
        return seen((String) item);
    }

    /** A CloudEvent of a bench.events row reduced to (txid, n, time). */
    static Seen seen(String json) throws Exception {
        JsonNode line = JSON.readTree(json);
        JsonNode after = line.path("data").path("after");
        long time = line.hasNonNull("time") ? micros(Instant.parse(line.get("time").asText())) : -1;
        return new Seen(after.path("txid").asLong(-1), after.path("n").asInt(-1), time);
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
