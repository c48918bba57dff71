package io.pgrouter.bench;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;

import io.pgrouter.demo.EmbeddedDatabase;

/**
 * WAL -> webhook benchmark (bench/webhook.sh, README in bench/): the packaged router with
 * {@code pg:wal?tables=bench.events -> kamelet:webhook-sink} (its defaults unless bench.webhook.sink.params), then Debezium Server's HTTP sink on the
 * same PostgreSQL and table, both POSTing to an HTTP receiver in this JVM (JDK HttpServer) that answers 200 after
 * a fixed delay (~1 ms, then ~50 ms).
 *
 * Clock points (this host's wall clock, microseconds): commit = pg_xact_commit_timestamp of the row's txid;
 * delivered = the receiver's clock when its handler is entered for the request (before reading the body and
 * before the delay). latency = delivered - commit. events/s = events / (last delivered - first statement sent).
 */
public final class WebhookBench {

    static final int ROWS = Integer.getInteger("bench.rows", 1000);
    static final int TXN = Integer.getInteger("bench.webhook.txn", 20);
    static final int PACED_TX1 = Integer.getInteger("bench.webhook.paced.tx1", 1000);
    static final int PACED_RATE = Integer.getInteger("bench.webhook.paced.rate", 200);
    static final int SLOW_TX1 = Integer.getInteger("bench.webhook.slow.tx1", 1000);
    // the target load: 5k events/s (100 tx/s of 50 rows) for 3 s to the fast receiver
    static final int PACED_TXN = Integer.getInteger("bench.webhook.pacedn.tx", 300);
    static final int PACED_ROWS = Integer.getInteger("bench.webhook.pacedn.rows", 50);
    static final int PACED_N_RATE = Integer.getInteger("bench.webhook.pacedn.rate", 100);
    static final int FAST_MS = Integer.getInteger("bench.webhook.fast.ms", 1);
    static final int SLOW_MS = Integer.getInteger("bench.webhook.slow.ms", 50);
    /**
     * Options of the router's webhook-sink besides url, e.g. {@code concurrency=1}; empty: what a user gets by default.
     * Several configurations separated by {@code |} are measured one after the other in the same session.
     */
    static final List<String> SINK_PARAMS = List.of(System.getProperty("bench.webhook.sink.params", "").split("\\|", -1));
    static final int WARMUP_TX1 = Integer.getInteger("bench.webhook.warmup.tx1", 500);
    static final int WARMUP_TXN = Integer.getInteger("bench.webhook.warmup.txn", 2);

    private static final ObjectMapper JSON = new ObjectMapper();

    private WebhookBench() {
    }

    enum Load {
        FLAT_N("N-row tx flat out, fast receiver"), PACED_1("1-row tx paced, fast receiver"), PACED_N("N-row tx paced at 5k ev/s, fast receiver"),
        SLOW_1("1-row tx flat out, slow receiver");

        final String label;

        Load(String label) {
            this.label = label;
        }
    }

    record Run(String consumer, Load load, int receiverMs, int expected, int received, int duplicates, int unknown, double eventsPerSec,
            double writerEventsPerSec, double[] latencies, double seconds) {
        boolean complete() {
            return received - duplicates == expected && unknown == 0;
        }
    }

    /** The receiver: stamps each request on arrival, keeps the body, answers 200 after {@link #delayMs}. */
    static final class Receiver implements AutoCloseable {
        final Arrivals arrivals = new Arrivals();
        volatile int delayMs = FAST_MS;
        volatile int status = 200;
        private final HttpServer server;
        private final ExecutorService pool;

        Receiver() throws IOException {
            this(16);
        }

        /** @param threads requests answered at the same time (each waits {@link #delayMs}) */
        Receiver(int threads) throws IOException {
            pool = Executors.newFixedThreadPool(threads);
            server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 256);
            server.createContext("/", exchange -> {
                long stamp = Arrivals.nowMicros();
                byte[] body;
                try (InputStream in = exchange.getRequestBody()) {
                    body = in.readAllBytes();
                }
                long until = System.nanoTime() + delayMs * 1_000_000L;
                long left;
                while ((left = until - System.nanoTime()) > 0) LockSupport.parkNanos(left);
                exchange.sendResponseHeaders(status, -1);
                exchange.close();
                // recorded after answering, so the answer takes delayMs, not delayMs plus parsing a batch
                String text = new String(body, StandardCharsets.UTF_8);
                if (text.startsWith("[")) {
                    // a batch (application/cloudevents-batch+json): each event arrived with the request
                    for (JsonNode event : JSON.readTree(text)) arrivals.add(stamp, event.toString());
                } else {
                    arrivals.add(stamp, text);
                }
            });
            server.setExecutor(pool);
            server.start();
        }

        String url() {
            return "http://127.0.0.1:" + server.getAddress().getPort() + "/hook";
        }

        @Override
        public void close() {
            server.stop(0);
            pool.shutdownNow();
        }
    }

    public static void main(String... args) throws Exception {
        Bench.quietLogging();
        Runtime.getRuntime().addShutdownHook(new Thread(Bench::closeAll, "bench-cleanup"));
        int code = 1;
        try {
            code = run();
        } finally {
            Bench.closeAll();
        }
        if (code != 0) throw new IllegalStateException("webhook benchmark incomplete: see the table above");
    }

    private static int run() throws Exception {
        Path root = Path.of("").toAbsolutePath();
        Path jar = root.resolve("target/quarkus-app/quarkus-run.jar");
        if (!Files.isRegularFile(jar)) throw new IllegalStateException(jar + " is missing: build the router first (bench/webhook.sh does)");
        String dbzHome = System.getProperty("bench.dbz.home", "");
        String dbzJava = System.getProperty("bench.dbz.java", "/usr/lib/jvm/temurin-25-jdk-amd64/bin/java");
        Path work = root.resolve("target/bench-webhook");
        Bench.deleteTree(work);
        Files.createDirectories(work);

        Bench.say("starting PostgreSQL (embedded, wal_level=logical, track_commit_timestamp=on) under %s", work.resolve("pg"));
        EmbeddedDatabase db = Bench.open(new EmbeddedDatabase(work.resolve("pg"), 0).start());
        try (Connection c = db.connect(); Statement s = c.createStatement()) {
            s.execute("ALTER SYSTEM SET track_commit_timestamp = on");
        }
        db.restart();
        Connection admin = Bench.open(db.connect());
        String serverVersion;
        try (Statement s = admin.createStatement()) {
            s.execute("CREATE SCHEMA bench");
            s.execute("CREATE TABLE bench.events (id bigserial PRIMARY KEY, txid bigint NOT NULL DEFAULT txid_current(), "
                    + "n int NOT NULL, payload text NOT NULL)");
            try (ResultSet rs = s.executeQuery("SHOW server_version")) {
                rs.next();
                serverVersion = rs.getString(1);
            }
        }
        Bench.say("PostgreSQL %s at %s; warming up the writer", serverVersion, db.jdbcUrl());
        try (Connection c = db.connect()) {
            Bench.Writer w = new Bench.Writer(c, "bench.events");
            for (int i = 0; i < 5000; i++) w.one();
            for (int i = 0; i < 10; i++) w.many();
        }
        try (Statement s = admin.createStatement()) {
            s.execute("VACUUM ANALYZE bench.events");
            s.execute("CHECKPOINT");
        }

        Receiver receiver = Bench.open(new Receiver());
        Bench.say("receiver at %s", receiver.url());
        List<Run> runs = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        long started = System.nanoTime();

        List<String> routerNames = new ArrayList<>();
        String only = System.getProperty("bench.webhook.only", "router,debezium");
        for (String params : SINK_PARAMS) {
            String routerName = "router (pg:wal -> webhook-sink" + (params.isEmpty() ? ", defaults" : "?" + params) + ")";
            routerNames.add(routerName);
            Path routerWork = Files.createDirectories(work.resolve(SINK_PARAMS.size() == 1 ? "router" : "router-" + routerNames.size()));
            // each configuration on its own slot, so that none resumes from another's stored offset
            String slot = SINK_PARAMS.size() == 1 ? "bench_router" : "bench_router_" + routerNames.size();
            if (only.contains("router")) {
                measure(work, routerName, () -> startRouter(jar, routerWork, db.jdbcUrl(), receiver.url(), params, slot), db, admin, receiver, runs, notes);
            }
            // the next router starts on a fresh slot: wait for the stopped one's walsender to let go of it
            try (Statement s = admin.createStatement()) {
                for (int i = 0; i < 50; i++) {
                    try (ResultSet rs = s.executeQuery("SELECT count(*) FROM pg_replication_slots WHERE slot_name = '" + slot + "' AND active")) {
                        rs.next();
                        if (rs.getInt(1) == 0) break;
                    }
                    Thread.sleep(200);
                }
                s.execute("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '" + slot + "' AND NOT active");
            }
        }

        String dbzName = "Debezium Server 3.0.0.Final (http sink)";
        if (!only.contains("debezium")) {
            notes.add("Debezium Server not run (-Dbench.webhook.only=" + only + ")");
        } else if (dbzHome.isBlank() || !Files.isRegularFile(Path.of(dbzHome, "debezium-server-dist-3.0.0.Final-runner.jar"))) {
            notes.add("Debezium Server not run: -Dbench.dbz.home does not point at an unpacked debezium-server-dist-3.0.0.Final");
        } else {
            Path dbzWork = Files.createDirectories(work.resolve("debezium"));
            measure(work, dbzName, () -> startDebezium(Path.of(dbzHome), dbzJava, dbzWork, db.port(), receiver.url()), db, admin, receiver, runs, notes);
        }
        double minutes = (System.nanoTime() - started) / 60e9;

        String report = report(runs, notes, serverVersion, minutes, routerNames, dbzName);
        Files.writeString(work.resolve("results.md"), report);
        System.out.println();
        System.out.println(report);
        Bench.say("written to %s; logs under %s/{router,debezium}/*.log", work.resolve("results.md"), work);
        boolean routerOk = (!only.contains("router")
                || routerNames.stream().allMatch(n -> runs.stream().filter(r -> r.consumer().equals(n)).count() == Load.values().length))
                && runs.stream().allMatch(Run::complete);
        return routerOk ? 0 : 1;
    }

    interface Starter {
        Process start() throws Exception;
    }

    private static void measure(Path work, String name, Starter starter, EmbeddedDatabase db, Connection admin, Receiver receiver, List<Run> runs,
            List<String> notes) throws Exception {
        Bench.say("starting %s", name);
        Process[] holder = new Process[1];
        AutoCloseable stopper = () -> Procs.stop(holder[0], 30_000);
        Bench.open(stopper);
        try (Connection wc = db.connect()) {
            long t0 = System.nanoTime();
            holder[0] = starter.start();
            Process p = holder[0];
            Bench.Writer writer = new Bench.Writer(wc, "bench.events");
            receiver.delayMs = FAST_MS;
            receiver.arrivals.drain();
            // warm-up; for Debezium Server it also tells when its stream is live: keep writing 1-row tx until one arrives
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
            int sent = 0;
            while (receiver.arrivals.size() == 0) {
                if (!p.isAlive()) {
                    notes.add(name + " exited with " + p.exitValue() + " while starting; see its log");
                    return;
                }
                if (System.nanoTime() > deadline) {
                    notes.add(name + ": no event arrived within 180 s of starting; see its log");
                    return;
                }
                writer.one();
                sent++;
                Thread.sleep(200);
            }
            Bench.say("%s: first event arrived %.1f s after start", name, (System.nanoTime() - t0) / 1e9);
            for (int i = 0; i < WARMUP_TX1; i++) writer.one();
            for (int i = 0; i < WARMUP_TXN; i++) writer.many();
            sent += WARMUP_TX1 + WARMUP_TXN * ROWS;
            if (!receiver.arrivals.awaitAtLeast(WARMUP_TX1 + WARMUP_TXN * ROWS, 180_000, p::isAlive)) {
                notes.add(name + ": only " + receiver.arrivals.size() + " warm-up events arrived; see its log");
                return;
            }
            Thread.sleep(1000);
            receiver.arrivals.drain();
            double cpuBefore = Procs.cpuSeconds(p.pid());
            double jitBefore = Procs.jitCpuSeconds(p.pid());
            double[] accountBefore = cpuAccount(p, work);
            long wallBefore = System.nanoTime();
            String loadBefore = Bench.loadAverage();
            long events = 0;
            for (Load load : Load.values()) {
                Run r = phase(name, load, writer, admin, receiver, p);
                runs.add(r);
                events += r.received();
                Bench.say("%-40s %-34s %5d/%-5d events %8.0f ev/s (writer %8.0f) p50 %8.2f ms p99 %8.2f ms max %8.2f ms %5.1f s%s", name, load.label,
                        r.received(), r.expected(), r.eventsPerSec(), r.writerEventsPerSec(), Bench.percentile(r.latencies(), 50),
                        Bench.percentile(r.latencies(), 99), r.latencies().length == 0 ? Double.NaN : r.latencies()[r.latencies().length - 1],
                        r.seconds(), r.complete() ? "" : "  INCOMPLETE");
                if (!r.complete()) break;
            }
            double cpu = Procs.cpuSeconds(p.pid()) - cpuBefore;
            double jit = Procs.jitCpuSeconds(p.pid()) - jitBefore;
            double other = Bench.otherCores(accountBefore, cpuAccount(p, work), (System.nanoTime() - wallBefore) / 1e9);
            notes.add(String.format(Locale.ROOT, "%s: peak RSS %.0f MiB, CPU %.1f s over the measured phases (%.0f ms per 1000 events), of which "
                    + "%.1f s in its JIT compiler threads; load avg (1 min) %s → %s; CPU used by other processes on the machine meanwhile: %.2f cores", name,
                    Procs.statusMiB(p.pid(), "VmHWM"), cpu, events == 0 ? Double.NaN : cpu * 1e6 / events, jit, loadBefore, Bench.loadAverage(), other));
        } finally {
            Bench.close(stopper);
        }
    }

    /** {machine busy CPU s, CPU s of the harness JVM, the consumer process and PostgreSQL with its backends}. */
    private static double[] cpuAccount(Process p, Path work) {
        double ours = Procs.cpuSeconds(ProcessHandle.current().pid()) + Math.max(0, Procs.cpuSeconds(p.pid()));
        try {
            long postmaster = Long.parseLong(Files.readAllLines(work.resolve("pg/postmaster.pid")).get(0).trim());
            ours += Math.max(0, Procs.treeCpuSeconds(postmaster));
        } catch (IOException | RuntimeException e) {
            // counted as foreign
        }
        return new double[] { Procs.machineBusySeconds(), ours };
    }

    private static Run phase(String name, Load load, Bench.Writer writer, Connection admin, Receiver receiver, Process p) throws Exception {
        receiver.delayMs = load == Load.SLOW_1 ? SLOW_MS : FAST_MS;
        Arrivals arrivals = receiver.arrivals;
        arrivals.drain();
        int expected = switch (load) {
            case FLAT_N -> TXN * ROWS;
            case PACED_1 -> PACED_TX1;
            case PACED_N -> PACED_TXN * PACED_ROWS;
            case SLOW_1 -> SLOW_TX1;
        };
        long timeoutMs = 60_000 + expected * (long) (receiver.delayMs + 20);
        long begin = Arrivals.nowMicros();
        switch (load) {
            case FLAT_N -> {
                for (int i = 0; i < TXN; i++) writer.many();
            }
            case PACED_1 -> writer.paced(PACED_TX1, PACED_RATE);
            case PACED_N -> writer.paced(PACED_TXN, PACED_N_RATE, PACED_ROWS);
            case SLOW_1 -> {
                for (int i = 0; i < SLOW_TX1; i++) writer.one();
            }
        }
        long writerEnd = Arrivals.nowMicros();
        arrivals.awaitAtLeast(expected, timeoutMs, p::isAlive);
        Thread.sleep(500 + receiver.delayMs * 4L); // late duplicates would show up here
        List<Arrivals.Arrival> got = arrivals.drain();
        receiver.delayMs = FAST_MS;

        long[][] seen = new long[got.size()][];
        for (int i = 0; i < got.size(); i++) seen[i] = parse((String) got.get(i).item());
        Map<Long, Long> commits = commitTimes(admin, seen);
        Set<Long> keys = new HashSet<>();
        int duplicates = 0;
        int unknown = 0;
        double[] latencies = new double[seen.length];
        int k = 0;
        long last = Long.MIN_VALUE;
        for (int i = 0; i < seen.length; i++) {
            Long commit = commits.get(seen[i][0]);
            if (commit == null || seen[i][1] < 0) {
                unknown++;
                continue;
            }
            if (!keys.add(seen[i][0] * 100_000 + seen[i][1])) duplicates++;
            long stamp = got.get(i).stampMicros();
            latencies[k++] = (stamp - commit) / 1000.0;
            last = Math.max(last, stamp);
        }
        latencies = Arrays.copyOf(latencies, k);
        Arrays.sort(latencies);
        double seconds = (last - begin) / 1e6;
        return new Run(name, load, load == Load.SLOW_1 ? SLOW_MS : FAST_MS, expected, seen.length, duplicates, unknown,
                k == 0 ? 0 : k / seconds, expected / ((writerEnd - begin) / 1e6), latencies, seconds);
    }

    /**
     * {txid, n} from a request body: the router's structured CloudEvent ({@code data.after}), Debezium's JSON with
     * or without the schema envelope ({@code payload.after} / {@code after}). {-1, -1} when neither.
     */
    static long[] parse(String body) {
        try {
            JsonNode j = JSON.readTree(body);
            JsonNode after = j.path("data").path("after");
            if (after.isMissingNode()) after = j.path("payload").path("after");
            if (after.isMissingNode()) after = j.path("after");
            if (after.isMissingNode() && j.path("data").isTextual()) return parse(j.path("data").asText());
            return new long[] { after.path("txid").asLong(-1), after.path("n").asInt(-1) };
        } catch (IOException e) {
            return new long[] { -1, -1 };
        }
    }

    private static Map<Long, Long> commitTimes(Connection admin, long[][] seen) throws SQLException {
        Set<Long> txids = new HashSet<>();
        for (long[] s : seen) if (s[0] >= 0) txids.add(s[0]);
        Map<Long, Long> out = new HashMap<>();
        try (PreparedStatement ps = admin.prepareStatement("SELECT t, (extract(epoch FROM pg_xact_commit_timestamp((t % 4294967296)::text::xid)) "
                + "* 1000000)::bigint FROM unnest(?::bigint[]) AS t")) {
            Array array = admin.createArrayOf("bigint", txids.toArray(Long[]::new));
            ps.setArray(1, array);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    long v = rs.getLong(2);
                    if (!rs.wasNull()) out.put(rs.getLong(1), v);
                }
            }
        }
        return out;
    }

    // ---------------------------------------------------------------- the two consumers

    private static Process startRouter(Path jar, Path work, String jdbcUrl, String url, String params, String slot) throws Exception {
        Path routes = Files.createDirectories(work.resolve("routes"));
        Files.writeString(routes.resolve("wal-bench-events-to-webhook.yaml"), """
                # written by WebhookBench: every committed change to bench.events POSTed to the harness' receiver
                - route:
                    id: bench-wal-to-webhook
                    from:
                      uri: pg:wal
                      parameters:
                        tables: bench.events
                      steps:
                        - to: "kamelet:webhook-sink?url=%s%s"
                """.formatted(url, params.isEmpty() ? "" : "&" + params));
        return RouterConsumer.launch(jar, work, jdbcUrl, routes, slot, Procs.freePort(), work.resolve("router.log"));
    }

    private static Process startDebezium(Path home, String java, Path work, int pgPort, String url) throws Exception {
        Path conf = Files.createDirectories(work.resolve("config"));
        int httpPort = Procs.freePort();
        Files.writeString(conf.resolve("application.properties"), String.join("\n",
                "# written by WebhookBench",
                "debezium.sink.type=http",
                "debezium.sink.http.url=" + url,
                "debezium.source.connector.class=io.debezium.connector.postgresql.PostgresConnector",
                "debezium.source.offset.storage.file.filename=" + work.resolve("offsets.dat"),
                "debezium.source.offset.flush.interval.ms=1000",
                "debezium.source.database.hostname=127.0.0.1",
                "debezium.source.database.port=" + pgPort,
                "debezium.source.database.user=postgres",
                "debezium.source.database.password=postgres",
                "debezium.source.database.dbname=postgres",
                "debezium.source.topic.prefix=bench",
                "debezium.source.table.include.list=bench.events",
                "debezium.source.plugin.name=pgoutput",
                "debezium.source.slot.name=bench_dbz",
                "debezium.source.publication.name=bench_dbz",
                "debezium.source.publication.autocreate.mode=filtered",
                "debezium.source.snapshot.mode=no_data",
                "debezium.source.poll.interval.ms=" + Integer.getInteger("bench.dbz.poll.ms", 20),
                "debezium.format.key=json",
                "debezium.format.value=json",
                "debezium.format.value.schemas.enable=false",
                "debezium.format.key.schemas.enable=false",
                "quarkus.http.host=127.0.0.1",
                "quarkus.http.port=" + httpPort,
                "quarkus.log.console.json=false",
                ""));
        List<String> cmd = List.of(java, "-Xmx512m", "-cp",
                home.resolve("debezium-server-dist-3.0.0.Final-runner.jar") + ":" + home.resolve("config/lib") + ":" + home.resolve("lib") + "/*",
                "io.debezium.server.Main");
        return new ProcessBuilder(Procs.dieWithParent(cmd)).directory(work.toFile()).redirectErrorStream(true)
                .redirectOutput(work.resolve("debezium.log").toFile()).start();
    }


    // ---------------------------------------------------------------- report

    private static String report(List<Run> runs, List<String> notes, String serverVersion, double minutes, List<String> routerNames, String dbzName) {
        StringBuilder s = new StringBuilder();
        s.append(String.format(Locale.ROOT, "## WAL -> webhook: PostgreSQL %s, run took %.1f min%n%n", serverVersion, minutes));
        s.append(String.format(Locale.ROOT, "Loads: %d × %d-row tx flat out, %d × 1-row tx paced at %d tx/s, and %d × %d-row tx paced at %d tx/s "
                + "(%d events/s) to a receiver answering 200 after %d ms; "
                + "%d × 1-row tx flat out to a receiver answering after %d ms. One repetition each. "
                + "events/s = events / (last request arrived − first statement sent). Latency = request arrived at the receiver − "
                + "pg_xact_commit_timestamp (in batch mode every event of a request counts as arrived with it).%n%n", TXN, ROWS, PACED_TX1, PACED_RATE,
                PACED_TXN, PACED_ROWS, PACED_N_RATE, PACED_N_RATE * PACED_ROWS, FAST_MS, SLOW_TX1, SLOW_MS));
        s.append("| consumer | load | receiver delay ms | events/s | writer events/s | latency p50 / p99 / max ms | events received | router ÷ Debezium Server events/s |\n");
        s.append("|---|---|---:|---:|---:|---:|---|---:|\n");
        for (Run r : runs) {
            String ratio = "";
            if (routerNames.contains(r.consumer())) {
                Run d = runs.stream().filter(x -> x.consumer().equals(dbzName) && x.load() == r.load()).findFirst().orElse(null);
                ratio = d == null || d.eventsPerSec() == 0 ? "—" : String.format(Locale.ROOT, "**%.2f×**", r.eventsPerSec() / d.eventsPerSec());
            }
            double[] l = r.latencies();
            s.append(String.format(Locale.ROOT, "| %s | %s | %d | %.0f | %.0f | %s / %s / %s | %d/%d%s%s | %s |%n", r.consumer(),
                    r.load().label.replace("N-row", (r.load() == Load.PACED_N ? PACED_ROWS : ROWS) + "-row"), r.receiverMs(), r.eventsPerSec(), r.writerEventsPerSec(),
                    Bench.ms(Bench.percentile(l, 50)), Bench.ms(Bench.percentile(l, 99)), Bench.ms(l.length == 0 ? Double.NaN : l[l.length - 1]),
                    r.received() - r.duplicates(), r.expected(), r.duplicates() > 0 ? " +" + r.duplicates() + " dup" : "",
                    r.unknown() > 0 ? " " + r.unknown() + " unmatched" : "", ratio));
        }
        s.append("\n");
        for (String n : notes) s.append("- ").append(n).append('\n');
        return s.toString();
    }
}
