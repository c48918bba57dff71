package io.pgrouter.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.locks.LockSupport;

import io.pgrouter.demo.EmbeddedDatabase;
import io.pgrouter.install.TriggerInstaller;

/**
 * The benchmark (bench/run.sh, README in bench/): WAL -> data lake and NOTIFY -> data lake through the packaged
 * router, each against a baseline that reads the same PostgreSQL stream with no router in between
 * (pg_recvlogical on a pgoutput slot; a bare pgjdbc LISTEN loop), for 1-row and 1000-row transactions.
 *
 * Clock points, all on this host's wall clock (CLOCK_REALTIME, microseconds):
 * - commit: PostgreSQL's commit timestamp of the event's transaction (track_commit_timestamp = on, looked up with
 *   pg_xact_commit_timestamp for the txid each row carries in its txid column);
 * - arrived: the harness' clock when the read() that completed the event returned: the lake file's line for the
 *   router (a tailing reader), the pgoutput Insert message on pg_recvlogical's stdout, getNotifications() for LISTEN.
 * latency = arrived - commit. Throughput = events / (last arrived - writer's first statement sent).
 */
public final class Bench {

    static final int ROWS = Integer.getInteger("bench.rows", 1000);
    static final int WARMUP_TX1 = Integer.getInteger("bench.warmup.tx1", 5000);
    static final int WARMUP_TXN = Integer.getInteger("bench.warmup.txn", 10);
    static final int TX1 = Integer.getInteger("bench.tx1", 3000);
    static final int PACED_TX1 = Integer.getInteger("bench.paced.tx1", 1000);
    static final int PACED_RATE = Integer.getInteger("bench.paced.rate", 200);
    static final int TXN = Integer.getInteger("bench.txn", 200);
    static final int ISOLATED_TXN = Integer.getInteger("bench.isolated.txn", 10);
    static final int REPEATS = Integer.getInteger("bench.repeats", 5);
    /** Warm-up rounds go on until the JIT compiler threads used at most this share of the consumer's CPU in one. */
    static final double WARMUP_JIT_SHARE = Double.parseDouble(System.getProperty("bench.warmup.jit", "0.05"));
    static final int WARMUP_MAX_ROUNDS = Integer.getInteger("bench.warmup.rounds", 40);
    /** One JIT warm-up round: this many 1-row tx, then this many ROWS-row tx. */
    static final int ROUND_TX1 = 1000, ROUND_TXN = 20;
    /** lake (bench/run.sh: WAL and NOTIFY to the data lake) or rabbitmq (bench/rabbitmq.sh: WAL to RabbitMQ). */
    static final String SUITE = System.getProperty("bench.suite", "lake");
    static final String PAYLOAD = "bench payload " + "x".repeat(86); // 100 characters, a modest row
    static final String JSONL_ROUTER = "router (pg:wal -> datalake)", PARQUET_ROUTER = "router (pg:wal -> datalake parquet)";

    private static final Deque<AutoCloseable> OPEN = new ArrayDeque<>();

    private Bench() {
    }

    enum Load {
        FLAT_1("1-row tx, flat out"), PACED_1("1-row tx, paced"), FLAT_N("N-row tx, flat out"), ISOLATED_N("N-row tx, one at a time");

        final String label;

        Load(String label) {
            this.label = label;
        }
    }

    /** One repetition of one load against one consumer; latencies sorted, in ms. */
    record Run(int expected, int received, int duplicates, int unknown, double eventsPerSec, double writerEventsPerSec,
            double[] latencies, double timeFieldMaxAbsDiffMs) {
        boolean complete() {
            return received - duplicates == expected && unknown == 0;
        }
    }

    /** One load against one consumer over all repetitions: throughput median (and range), latency pooled. */
    record Result(String source, String consumer, Load load, List<Run> runs) {
        int expected() {
            return runs.stream().mapToInt(Run::expected).sum();
        }

        int received() {
            return runs.stream().mapToInt(Run::received).sum();
        }

        int duplicates() {
            return runs.stream().mapToInt(Run::duplicates).sum();
        }

        int unknown() {
            return runs.stream().mapToInt(Run::unknown).sum();
        }

        boolean complete() {
            return !runs.isEmpty() && runs.size() == REPEATS && runs.stream().allMatch(Run::complete);
        }

        double eventsPerSec() {
            return median(runs.stream().mapToDouble(Run::eventsPerSec).toArray());
        }

        double minEventsPerSec() {
            return runs.stream().mapToDouble(Run::eventsPerSec).min().orElse(Double.NaN);
        }

        double maxEventsPerSec() {
            return runs.stream().mapToDouble(Run::eventsPerSec).max().orElse(Double.NaN);
        }

        double writerEventsPerSec() {
            return median(runs.stream().mapToDouble(Run::writerEventsPerSec).toArray());
        }

        /** Median over repetitions of events/s ÷ the writer's events/s in the same repetition: 1.0 = kept up. */
        double keptUp() {
            return median(runs.stream().mapToDouble(r -> r.eventsPerSec() / r.writerEventsPerSec()).toArray());
        }

        double[] latencies() {
            double[] all = runs.stream().flatMapToDouble(r -> Arrays.stream(r.latencies())).toArray();
            Arrays.sort(all);
            return all;
        }

        double p50Ms() {
            return percentile(latencies(), 50);
        }

        double p99Ms() {
            return percentile(latencies(), 99);
        }

        double maxMs() {
            double[] l = latencies();
            return l.length == 0 ? Double.NaN : l[l.length - 1];
        }

        double timeFieldMaxAbsDiffMs() {
            return runs.stream().mapToDouble(Run::timeFieldMaxAbsDiffMs).filter(d -> !Double.isNaN(d)).max().orElse(Double.NaN);
        }
    }

    static double median(double[] v) {
        if (v.length == 0) return Double.NaN;
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    record ProcessFacts(String source, String consumer, double peakRssMiB, double heapUsedMiB, double cpuSec, double jitSec, long events, String load,
            double otherCores, double lakeBytesPerRow, String warmUp) {
    }

    public static void main(String... args) throws Exception {
        Bench.quietLogging();
        Runtime.getRuntime().addShutdownHook(new Thread(Bench::closeAll, "bench-cleanup"));
        int code = 1;
        try {
            code = run();
        } finally {
            closeAll();
        }
        if (code != 0) throw new IllegalStateException("benchmark incomplete: see the table above");
    }

    /** A harness that measures and prints its own table: quiet logging, and whatever it opened closed at the end, even on Ctrl-C. */
    interface Harness {
        void run() throws Exception;
    }

    static void runHarness(Harness harness) throws Exception {
        quietLogging();
        Runtime.getRuntime().addShutdownHook(new Thread(Bench::closeAll, "bench-cleanup"));
        try {
            harness.run();
        } finally {
            closeAll();
        }
    }

    /**
     * The harness JVM runs jboss-logmanager with no configuration: its loggers answer "enabled" at every level, so the
     * brokers in this JVM formatted every trace and audit line they then dropped (half of Artemis' server thread in a
     * profile, which made the broker, not the router, the bottleneck of the JMS benchmark). INFO and up only.
     */
    static void quietLogging() {
        org.jboss.logmanager.LogContext context = org.jboss.logmanager.LogContext.getLogContext();
        context.getLogger("").setLevel(org.jboss.logmanager.Level.INFO);
        // Artemis' audit loggers write a line per message at INFO; its own distribution turns them off the same way
        context.getLogger("org.apache.activemq.audit").setLevel(org.jboss.logmanager.Level.ERROR);
    }

    static synchronized <T extends AutoCloseable> T open(T resource) {
        OPEN.push(resource);
        return resource;
    }

    static synchronized void close(AutoCloseable resource) {
        OPEN.remove(resource);
        quietly(resource);
    }

    static synchronized void closeAll() {
        while (!OPEN.isEmpty()) quietly(OPEN.pop());
    }

    private static void quietly(AutoCloseable r) {
        try {
            r.close();
        } catch (Exception e) {
            System.err.println("[bench] closing " + r + " failed: " + e);
        }
    }

    private static final long STARTED = System.nanoTime();

    /** One line of progress, with the seconds since the harness started. */
    static void say(String format, Object... args) {
        System.out.printf(Locale.ROOT, "[bench %4ds] " + format + "%n", concat((System.nanoTime() - STARTED) / 1_000_000_000L, args));
        System.out.flush();
    }

    private static Object[] concat(Object first, Object... rest) {
        Object[] all = new Object[rest.length + 1];
        all[0] = first;
        System.arraycopy(rest, 0, all, 1, rest.length);
        return all;
    }

    /** PostgreSQL with the bench tables, a warmed-up writer, and where things are: what every benchmark starts from. */
    record Setup(Path root, Path jar, Path pgBin, Path work, EmbeddedDatabase db, Connection admin, String serverVersion) {
    }

    /** The PostgreSQL data directory of this run (its postmaster's CPU is the benchmark's own, not someone else's). */
    private static Path pgDir = Path.of("target/bench/pg");

    /** Checks the router jar and pg_recvlogical, starts PostgreSQL under {@code target/<workName>/pg}, creates and warms the tables. */
    static Setup setUp(String workName) throws Exception {
        Path root = Path.of("").toAbsolutePath();
        Path jar = root.resolve("target/quarkus-app/quarkus-run.jar");
        if (!Files.isRegularFile(jar)) throw new IllegalStateException(jar + " is missing: build the router first (bench/run.sh does)");
        Path pgBin = Path.of(System.getProperty("bench.pgbin", "/usr/lib/postgresql/15/bin"));
        if (!Files.isExecutable(pgBin.resolve("pg_recvlogical"))) {
            throw new IllegalStateException(pgBin.resolve("pg_recvlogical") + " is missing: apt-get install postgresql-client-15 (or set -Dbench.pgbin)");
        }
        Path work = root.resolve("target").resolve(workName);
        deleteTree(work);
        Files.createDirectories(work);
        pgDir = work.resolve("pg");

        say("starting PostgreSQL (embedded, wal_level=logical, track_commit_timestamp=on) under %s", work.resolve("pg"));
        EmbeddedDatabase db = open(new EmbeddedDatabase(work.resolve("pg"), 0).start());
        try (Connection c = db.connect(); Statement s = c.createStatement()) {
            s.execute("ALTER SYSTEM SET track_commit_timestamp = on");
        }
        db.restart();
        Connection admin = open(db.connect());
        String serverVersion;
        try (Statement s = admin.createStatement()) {
            for (String table : List.of("bench.events", "bench.events_notify")) {
                s.execute("CREATE SCHEMA IF NOT EXISTS bench");
                s.execute("CREATE TABLE " + table + " (id bigserial PRIMARY KEY, txid bigint NOT NULL DEFAULT txid_current(), "
                        + "n int NOT NULL, payload text NOT NULL)");
            }
            s.execute("CREATE PUBLICATION bench_baseline FOR TABLE bench.events");
            try (ResultSet rs = s.executeQuery("SHOW server_version")) {
                rs.next();
                serverVersion = rs.getString(1);
            }
        }
        TriggerInstaller.install(admin, "bench.events_notify", TriggerInstaller.Mode.NOTIFY, "bench");
        say("PostgreSQL %s at %s", serverVersion, db.jdbcUrl());

        // warm the harness' writer path (JIT, pgjdbc) and PostgreSQL (tables extended, caches) before any consumer is
        // measured, so the first consumer measured is not at a disadvantage
        say("warming up the writer with no consumer attached");
        for (String table : List.of("bench.events", "bench.events_notify")) {
            try (Connection c = db.connect()) {
                Writer w = new Writer(c, table);
                for (int i = 0; i < WARMUP_TX1; i++) w.one();
                for (int i = 0; i < WARMUP_TXN; i++) w.many();
            }
        }
        try (Statement s = admin.createStatement()) {
            s.execute("VACUUM ANALYZE bench.events");
            s.execute("VACUUM ANALYZE bench.events_notify");
            s.execute("CHECKPOINT");
        }
        return new Setup(root, jar, pgBin, work, db, admin, serverVersion);
    }

    private static int run() throws Exception {
        Setup setup = setUp("bench");
        Path root = setup.root();
        Path jar = setup.jar();
        Path pgBin = setup.pgBin();
        Path work = setup.work();
        EmbeddedDatabase db = setup.db();
        Connection admin = setup.admin();
        String serverVersion = setup.serverVersion();

        List<Result> results = new ArrayList<>();
        List<ProcessFacts> facts = new ArrayList<>();
        Path routes = root.resolve("bench/routes");

        long started = System.nanoTime();
        measure("WAL", "bench.events", new RecvLogicalBaseline(pgBin, dir(work, "wal-baseline"), db.port(), admin,
                "bench_baseline", "bench_baseline"), db, admin, results, facts);
        if (SUITE.equals("rabbitmq")) {
            // bench/rabbitmq.sh: the same WAL baseline, then the router publishing to a real RabbitMQ
            measure("WAL", "bench.events", new RabbitMqConsumer("router (pg:wal -> rabbitmq-sink)", jar,
                    routes.resolve("wal-bench-events-to-rabbitmq.yaml"), dir(work, "wal-rabbitmq"), db.jdbcUrl(), "bench_router"), db, admin, results, facts);
            return finish(results, facts, serverVersion, started, work);
        }
        measure("WAL", "bench.events", new RouterConsumer(JSONL_ROUTER, jar, routes.resolve("wal-bench-events-to-lake.yaml"),
                dir(work, "wal-router"), db.jdbcUrl(), "bench_router", "bench.events"), db, admin, results, facts);
        measure("WAL", "bench.events", new RouterConsumer(PARQUET_ROUTER, jar, routes.resolve("wal-bench-events-to-parquet.yaml"),
                dir(work, "wal-parquet-router"), db.jdbcUrl(), "bench_parquet", "bench.events"), db, admin, results, facts);
        try (Statement s = admin.createStatement()) {
            s.execute("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name IN ('bench_router', 'bench_parquet') AND NOT active");
        }
        if (Boolean.parseBoolean(System.getProperty("bench.notify", "true"))) {
            measure("NOTIFY", "bench.events_notify", new ListenBaseline(db.jdbcUrl(), "bench"), db, admin, results, facts);
            measure("NOTIFY", "bench.events_notify", new RouterConsumer("router (pg:notify -> datalake)", jar,
                    routes.resolve("notify-bench-to-lake.yaml"), dir(work, "notify-router"), db.jdbcUrl(), "bench_router", "bench.events_notify"),
                    db, admin, results, facts);
        }
        return finish(results, facts, serverVersion, started, work);
    }

    private static int finish(List<Result> results, List<ProcessFacts> facts, String serverVersion, long started, Path work) throws IOException {
        double minutes = (System.nanoTime() - started) / 60e9;
        String report = report(results, facts, serverVersion, minutes);
        Path file = work.resolve(SUITE.equals("lake") ? "results.md" : "results-" + SUITE + ".md");
        Files.writeString(file, report);
        System.out.println();
        System.out.println(report);
        say("written to %s; router logs under %s/*/router.log", file, work);
        return results.stream().allMatch(Result::complete) ? 0 : 1;
    }

    static Path dir(Path work, String name) throws IOException {
        return Files.createDirectories(work.resolve(name));
    }

    /** Starts one consumer, warms it up, runs the four loads {@link #REPEATS} times, stops it. */
    static void measure(String source, String table, Consumer consumer, EmbeddedDatabase db, Connection admin,
            List<Result> results, List<ProcessFacts> facts) throws Exception {
        say("%s: starting %s", source, consumer.name());
        open(consumer);
        long events = 0;
        double cpuStart = -1;
        double jitStart = -1;
        String warmUp = null;
        String loadBefore = loadAverage();
        double[] cpuBefore = cpuAccount(consumer);
        long wallBefore = System.nanoTime();
        Map<Load, Result> mine = new LinkedHashMap<>();
        for (Load load : Load.values()) {
            Result r = new Result(source, consumer.name(), load, new ArrayList<>());
            mine.put(load, r);
            results.add(r);
        }
        try (Connection writerConnection = db.connect()) {
            consumer.start();
            Writer writer = new Writer(writerConnection, table);
            // warm-up: JIT, connection pools, file handles; also proves the stream is live before measuring
            warmUp = warmUp(consumer, writer);
            if (warmUp == null) {
                say("%s: %s received %d of the warm-up events; giving up on it", source, consumer.name(), consumer.arrivals().size());
                return;
            }
            cpuStart = consumer.cpuSeconds();
            jitStart = consumer.jitCpuSeconds();
            rounds:
            for (int rep = 1; rep <= REPEATS; rep++) {
                for (Load load : Load.values()) {
                    Run r = phase(consumer, writer, admin, load);
                    mine.get(load).runs().add(r);
                    events += r.received();
                    say("%s %-31s %-24s #%d %6d/%-6d events %9.0f ev/s (writer %9.0f)  p50 %8.2f ms  p99 %8.2f ms  max %8.2f ms%s",
                            source, consumer.name(), load.label, rep, r.received(), r.expected(), r.eventsPerSec(), r.writerEventsPerSec(),
                            percentile(r.latencies(), 50), percentile(r.latencies(), 99), r.latencies().length == 0 ? Double.NaN
                                    : r.latencies()[r.latencies().length - 1], r.complete() ? "" : "  INCOMPLETE");
                    if (!r.complete()) break rounds;
                }
            }
        } finally {
            double cpu = consumer.cpuSeconds();
            double jit = consumer.jitCpuSeconds();
            facts.add(new ProcessFacts(source, consumer.name(), consumer.peakRssMiB(), consumer.heapUsedMiB(),
                    cpu < 0 || cpuStart < 0 ? -1 : cpu - cpuStart, jit < 0 || jitStart < 0 ? -1 : jit - jitStart, events,
                    loadBefore + " → " + loadAverage(), otherCores(cpuBefore, cpuAccount(consumer), (System.nanoTime() - wallBefore) / 1e9),
                    consumer.lakeBytesPerRow(), warmUp));
            close(consumer);
        }
    }

    /** {machine busy CPU s, CPU s of this benchmark's own processes: harness JVM, consumer, PostgreSQL and its backends}. */
    static double[] cpuAccount(Consumer consumer) {
        double ours = Procs.cpuSeconds(ProcessHandle.current().pid()) + Math.max(0, consumer.cpuSeconds());
        try {
            long postmaster = Long.parseLong(Files.readAllLines(pgDir.resolve("postmaster.pid")).get(0).trim());
            ours += Math.max(0, Procs.treeCpuSeconds(postmaster));
        } catch (IOException | RuntimeException e) {
            // no PostgreSQL pid file: counted as foreign, which only overstates the noise
        }
        return new double[] { Procs.machineBusySeconds(), ours };
    }

    /** Average cores used by processes that are not part of the benchmark (another build, a test run...). */
    static double otherCores(double[] before, double[] after, double seconds) {
        if (before[0] < 0 || after[0] < 0) return Double.NaN;
        return Math.max(0, (after[0] - before[0]) - (after[1] - before[1])) / seconds;
    }

    /** The 1-minute load average: on a 2-core machine anything else running shows here and in the numbers. */
    static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).split(" ")[0];
        } catch (IOException e) {
            return "?";
        }
    }

    /**
     * The fixed warm-up, then, for a JVM consumer, rounds of both flat-out loads (1000 1-row tx, 20 × ROWS-row tx) until
     * the JIT compiler threads took at most {@link #WARMUP_JIT_SHARE} of the consumer's CPU in a round: the measured
     * phases then show the steady state, not the router compiling its own code (its C2 thread used ~8 CPU s in the
     * first ~20 s after start in a profile, on a 2-core machine where that competes with the router and PostgreSQL).
     *
     * @return what the warm-up took, for the report, or null when the events did not all arrive
     */
    private static String warmUp(Consumer consumer, Writer writer) throws Exception {
        long started = System.nanoTime();
        consumer.arrivals().drain();
        for (int i = 0; i < WARMUP_TX1; i++) writer.one();
        for (int i = 0; i < WARMUP_TXN; i++) writer.many();
        if (!consumer.arrivals().awaitAtLeast(WARMUP_TX1 + WARMUP_TXN * ROWS, 180_000, consumer::alive)) return null;
        long events = WARMUP_TX1 + (long) WARMUP_TXN * ROWS;
        int rounds = 0;
        double lastShare = Double.NaN;
        while (consumer.jitCpuSeconds() >= 0 && rounds < WARMUP_MAX_ROUNDS) {
            double cpu0 = consumer.cpuSeconds();
            double jit0 = consumer.jitCpuSeconds();
            consumer.arrivals().drain();
            for (int i = 0; i < ROUND_TX1; i++) writer.one();
            for (int i = 0; i < ROUND_TXN; i++) writer.many();
            int round = ROUND_TX1 + ROUND_TXN * ROWS;
            if (!consumer.arrivals().awaitAtLeast(round, 180_000, consumer::alive)) return null;
            rounds++;
            events += round;
            double cpu = consumer.cpuSeconds() - cpu0;
            lastShare = cpu <= 0 ? 0 : (consumer.jitCpuSeconds() - jit0) / cpu;
            if (lastShare <= WARMUP_JIT_SHARE) break;
        }
        Thread.sleep(500);
        consumer.arrivals().drain();
        String facts = String.format(Locale.ROOT, "%d events in %.1f s", events, (System.nanoTime() - started) / 1e9)
                + (rounds == 0 ? "" : String.format(Locale.ROOT, ", %d JIT round(s), last at %.0f %% compiler CPU", rounds, 100 * lastShare));
        say("%s warm-up: %s", consumer.name(), facts);
        return facts;
    }

    private static Run phase(Consumer consumer, Writer writer, Connection admin, Load load) throws Exception {
        Arrivals arrivals = consumer.arrivals();
        arrivals.drain();
        int expected = switch (load) {
            case FLAT_1 -> TX1;
            case PACED_1 -> PACED_TX1;
            case FLAT_N -> TXN * ROWS;
            case ISOLATED_N -> ISOLATED_TXN * ROWS;
        };
        long timeoutMs = Math.max(60_000, expected * 10L);
        long begin = Arrivals.nowMicros();
        long writerEnd;
        switch (load) {
            case FLAT_1 -> {
                for (int i = 0; i < TX1; i++) writer.one();
            }
            case PACED_1 -> writer.paced(PACED_TX1, PACED_RATE);
            case FLAT_N -> {
                for (int i = 0; i < TXN; i++) writer.many();
            }
            case ISOLATED_N -> {
                for (int i = 0; i < ISOLATED_TXN; i++) {
                    if (i > 0) Thread.sleep(200);
                    writer.many();
                    if (!arrivals.awaitAtLeast((i + 1) * ROWS, timeoutMs, consumer::alive)) break;
                }
            }
        }
        writerEnd = Arrivals.nowMicros();
        return collect(consumer, admin, expected, begin, writerEnd, timeoutMs);
    }

    /** {@code count} 1-row transactions at {@code perSecond} (a fixed schedule), measured as {@link #phase} measures a load. */
    static Run paced(Consumer consumer, Writer writer, Connection admin, int count, int perSecond) throws Exception {
        consumer.arrivals().drain();
        long begin = Arrivals.nowMicros();
        writer.paced(count, perSecond);
        return collect(consumer, admin, count, begin, Arrivals.nowMicros(), Math.max(60_000, count * 10L));
    }

    /** {@code count} transactions of {@code rows} rows at {@code perSecond} (a fixed schedule), measured as {@link #phase} does. */
    static Run pacedRows(Consumer consumer, Writer writer, Connection admin, int count, int perSecond, int rows) throws Exception {
        consumer.arrivals().drain();
        long begin = Arrivals.nowMicros();
        writer.paced(count, perSecond, rows);
        return collect(consumer, admin, count * rows, begin, Arrivals.nowMicros(), Math.max(60_000, count * rows / 10L));
    }

    private static Run collect(Consumer consumer, Connection admin, int expected, long begin, long writerEnd, long timeoutMs) throws Exception {
        Arrivals arrivals = consumer.arrivals();
        arrivals.awaitAtLeast(expected, timeoutMs, consumer::alive);
        Thread.sleep(300); // late duplicates would show up here
        List<Arrivals.Arrival> got = arrivals.drain();

        List<Consumer.Seen> seen = new ArrayList<>(got.size());
        for (Arrivals.Arrival a : got) seen.add(consumer.parse(a.item()));
        Map<Long, Long> commits = commitTimes(admin, seen);
        Set<Long> keys = new HashSet<>();
        int duplicates = 0;
        int unknown = 0;
        double[] latencies = new double[seen.size()];
        int k = 0;
        long lastArrival = Long.MIN_VALUE;
        double timeDiff = 0;
        for (int i = 0; i < seen.size(); i++) {
            Consumer.Seen s = seen.get(i);
            Long commit = commits.get(s.txid());
            if (commit == null || s.n() < 0) {
                unknown++;
                continue;
            }
            if (!keys.add(s.txid() * 100_000 + s.n())) duplicates++;
            long stamp = got.get(i).stampMicros();
            latencies[k++] = (stamp - commit) / 1000.0;
            lastArrival = Math.max(lastArrival, stamp);
            if (s.eventTimeMicros() >= 0) timeDiff = Math.max(timeDiff, Math.abs(s.eventTimeMicros() - commit) / 1000.0);
        }
        latencies = Arrays.copyOf(latencies, k);
        Arrays.sort(latencies);
        double seconds = (lastArrival - begin) / 1e6;
        return new Run(expected, seen.size(), duplicates, unknown, k == 0 ? 0 : k / seconds, expected / ((writerEnd - begin) / 1e6),
                latencies, seen.stream().anyMatch(s -> s.eventTimeMicros() >= 0) ? timeDiff : Double.NaN);
    }

    static double percentile(double[] sorted, double p) {
        if (sorted.length == 0) return Double.NaN;
        int rank = (int) Math.ceil(p / 100.0 * sorted.length); // nearest rank
        return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
    }

    /** txid -> commit time in epoch microseconds, from pg_xact_commit_timestamp. */
    private static Map<Long, Long> commitTimes(Connection admin, List<Consumer.Seen> seen) throws SQLException {
        Set<Long> txids = new HashSet<>();
        seen.forEach(s -> txids.add(s.txid()));
        Map<Long, Long> out = new HashMap<>();
        try (PreparedStatement ps = admin.prepareStatement("SELECT t, (extract(epoch FROM pg_xact_commit_timestamp((t % 4294967296)::text::xid)) "
                + "* 1000000)::bigint FROM unnest(?::bigint[]) AS t")) {
            Array array = admin.createArrayOf("bigint", txids.stream().filter(t -> t >= 0).toArray(Long[]::new));
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

    /** The writing application: one connection, autocommit, each statement its own transaction. */
    static final class Writer {
        private final PreparedStatement one;
        private final PreparedStatement many;

        private final String table;

        Writer(Connection c, String table) throws SQLException {
            this.table = table;
            c.setAutoCommit(true);
            one = c.prepareStatement("INSERT INTO " + table + " (n, payload) VALUES (1, ?)");
            one.setString(1, PAYLOAD);
            many = c.prepareStatement("INSERT INTO " + table + " (n, payload) SELECT g, ? FROM generate_series(1, " + ROWS + ") AS g");
            many.setString(1, PAYLOAD);
        }

        /** {@code count} 1-row transactions at {@code perSecond}, on a fixed schedule (a late one does not shift the rest). */
        void paced(int count, int perSecond) throws SQLException {
            paced(count, perSecond, one);
        }

        /** {@code count} transactions of {@code rows} rows each at {@code perSecond}, on a fixed schedule. */
        void paced(int count, int perSecond, int rows) throws SQLException {
            try (PreparedStatement some = one.getConnection().prepareStatement(
                    "INSERT INTO " + table + " (n, payload) SELECT g, ? FROM generate_series(1, " + rows + ") AS g")) {
                some.setString(1, PAYLOAD);
                paced(count, perSecond, some);
            }
        }

        private static void paced(int count, int perSecond, PreparedStatement tx) throws SQLException {
            long t0 = System.nanoTime();
            long step = 1_000_000_000L / perSecond;
            for (int i = 0; i < count; i++) {
                long wait = t0 + i * step - System.nanoTime();
                if (wait > 0) LockSupport.parkNanos(wait);
                tx.executeUpdate();
            }
        }

        void one() throws SQLException {
            one.executeUpdate();
        }

        void many() throws SQLException {
            many.executeUpdate();
        }
    }

    // ---------------------------------------------------------------- report

    private static String report(List<Result> results, List<ProcessFacts> facts, String serverVersion, double minutes) {
        return report(results, facts, serverVersion, minutes, true);
    }

    /** The results tables; {@code foundationTargets}: the WAL/NOTIFY → data lake targets of bench/run.sh. */
    static String report(List<Result> results, List<ProcessFacts> facts, String serverVersion, double minutes, boolean foundationTargets) {
        StringBuilder s = new StringBuilder();
        s.append(String.format(Locale.ROOT, "## pg-event-router benchmark: PostgreSQL %s, %d repetitions, run took %.1f min%n%n", serverVersion, REPEATS, minutes));
        s.append(String.format(Locale.ROOT, "Flat out: one writer connection, back to back (%d × 1-row tx, %d × %d-row tx per repetition). "
                + "Paced: %d × 1-row tx at %d tx/s. One at a time: %d × %d-row tx, each sent after the previous one fully arrived.%n",
                TX1, TXN, ROWS, PACED_TX1, PACED_RATE, ISOLATED_TXN, ROWS));
        s.append("events/s = events / (last event readable − first statement sent), median of the repetitions [min–max]. "
                + "kept up = events/s ÷ the writer's events/s in the same repetition (median; 1.00 = the consumer was not the bottleneck). "
                + "Latency = event readable by the harness − PostgreSQL commit timestamp, percentiles over all repetitions' events.\n\n");
        s.append("| source | tx size | consumer | events/s flat out [min–max] | × baseline | writer events/s | kept up with writer | latency p50 / p99 ms, flat out | latency p50 / p99 ms, paced or one at a time | events received |\n");
        s.append("|---|---|---|---:|---:|---:|---:|---:|---:|---|\n");
        Map<String, Result> byKey = new LinkedHashMap<>();
        for (Result r : results) byKey.put(r.source() + "|" + r.consumer() + "|" + r.load(), r);
        for (String source : List.of("WAL", "NOTIFY")) {
            List<String> consumers = results.stream().filter(r -> r.source().equals(source)).map(Result::consumer).distinct().toList();
            for (boolean big : List.of(false, true)) {
                Result baseFlat = null;
                for (String consumer : consumers) {
                    Result flat = byKey.get(source + "|" + consumer + "|" + (big ? Load.FLAT_N : Load.FLAT_1));
                    Result calm = byKey.get(source + "|" + consumer + "|" + (big ? Load.ISOLATED_N : Load.PACED_1));
                    boolean isBase = baseFlat == null;
                    if (isBase) baseFlat = flat;
                    boolean measured = flat != null && !flat.runs().isEmpty();
                    String ratio = !measured || baseFlat.runs().isEmpty() ? "—" : isBase ? "(baseline)"
                            : String.format(Locale.ROOT, "**%.2f×**", flat.eventsPerSec() / baseFlat.eventsPerSec());
                    s.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |%n", source, big ? ROWS + " rows" : "1 row", consumer,
                            !measured ? "—" : String.format(Locale.ROOT, "%.0f [%.0f–%.0f]", flat.eventsPerSec(), flat.minEventsPerSec(), flat.maxEventsPerSec()),
                            ratio,
                            !measured ? "—" : String.format(Locale.ROOT, "%.0f", flat.writerEventsPerSec()),
                            !measured ? "—" : String.format(Locale.ROOT, "%.2f", flat.keptUp()),
                            !measured ? "—" : ms(flat.p50Ms()) + " / " + ms(flat.p99Ms()),
                            calm == null || calm.runs().isEmpty() ? "—" : ms(calm.p50Ms()) + " / " + ms(calm.p99Ms()),
                            okText(flat, calm)));
                }
            }
        }
        s.append("\n### Consumer processes\n\n| source | consumer | warm-up (unmeasured) | peak RSS MiB | JVM heap used at end MiB | CPU s over measured phases | of which JIT compiler | CPU ms per 1000 events | load avg (1 min) start → end | CPU used by other processes on the machine (avg cores) |\n|---|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
        for (ProcessFacts f : facts) {
            s.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %.2f |%n", f.source(), f.consumer(),
                    f.warmUp() == null ? "—" : f.warmUp(),
                    f.peakRssMiB() < 0 ? "(in harness)" : String.format(Locale.ROOT, "%.0f", f.peakRssMiB()),
                    f.heapUsedMiB() < 0 ? "—" : String.format(Locale.ROOT, "%.0f", f.heapUsedMiB()),
                    f.cpuSec() < 0 ? "—" : String.format(Locale.ROOT, "%.1f", f.cpuSec()),
                    f.jitSec() < 0 ? "—" : String.format(Locale.ROOT, "%.1f", f.jitSec()),
                    f.cpuSec() < 0 || f.events() == 0 ? "—" : String.format(Locale.ROOT, "%.0f", f.cpuSec() * 1e6 / f.events()), f.load(), f.otherCores()));
        }
        s.append("\n### Targets (reported, not asserted)\n\n");
        if (foundationTargets) {
            target(s, byKey, "WAL", JSONL_ROUTER, "pg_recvlogical (pgoutput)", 0.7);
            for (String router : List.of(JSONL_ROUTER, PARQUET_ROUTER)) lakeTarget(s, byKey, facts, router, "pg_recvlogical (pgoutput)", 0.5);
            target(s, byKey, "NOTIFY", "router (pg:notify -> datalake)", "LISTEN loop (pgjdbc)", 0.8);
        }
        for (Result r : results) {
            if (!foundationTargets || !r.consumer().startsWith("router") || r.runs().isEmpty()) continue;
            s.append(String.format(Locale.ROOT, "- p99 ≤ 50 ms, %s %s: %s ms → %s%n", r.source(), r.load().label.replace("N-row", ROWS + "-row"),
                    ms(r.p99Ms()), r.p99Ms() <= 50 ? "met" : "NOT met"));
        }
        s.append("\n### Sanity checks\n\n");
        for (Result r : results) {
            if (r.source().equals("WAL") && !Double.isNaN(r.timeFieldMaxAbsDiffMs())) {
                s.append(String.format(Locale.ROOT, "- %s, %s: event \"time\" vs pg_xact_commit_timestamp, max |diff| = %.3f ms%n",
                        r.consumer(), r.load().label, r.timeFieldMaxAbsDiffMs()));
            }
        }
        long incomplete = results.stream().filter(r -> !r.complete()).count();
        s.append(incomplete == 0 ? "- every event arrived exactly once in every phase\n"
                : "- " + incomplete + " consumer/load combinations are INCOMPLETE (events missing, duplicated or not run): see the table\n");
        return s.toString();
    }

    private static void target(StringBuilder s, Map<String, Result> byKey, String source, String router, String baseline, double goal) {
        Result r = byKey.get(source + "|" + router + "|" + Load.FLAT_1);
        Result b = byKey.get(source + "|" + baseline + "|" + Load.FLAT_1);
        if (r == null || b == null || r.runs().isEmpty() || b.runs().isEmpty()) {
            s.append("- ").append(source).append(" 1-row throughput: not measured\n");
            return;
        }
        double ratio = r.eventsPerSec() / b.eventsPerSec();
        s.append(String.format(Locale.ROOT, "- %s 1-row tx throughput ≥ %.1f× baseline: %.2f× (%.0f vs %.0f events/s) → %s%n", source, goal, ratio,
                r.eventsPerSec(), b.eventsPerSec(), ratio >= goal ? "met" : "NOT met"));
    }

    /** The data-lake sink's goal: WAL -> lake files, 1000-row transactions, rows/s and MB/s of lake files vs the baseline. */
    private static void lakeTarget(StringBuilder s, Map<String, Result> byKey, List<ProcessFacts> facts, String router, String baseline, double goal) {
        Result r = byKey.get("WAL|" + router + "|" + Load.FLAT_N);
        Result b = byKey.get("WAL|" + baseline + "|" + Load.FLAT_N);
        if (r == null || b == null || r.runs().isEmpty() || b.runs().isEmpty()) {
            s.append("- ").append(router).append(", ").append(ROWS).append("-row tx: not measured\n");
            return;
        }
        double bytesPerRow = facts.stream().filter(f -> f.consumer().equals(router)).mapToDouble(ProcessFacts::lakeBytesPerRow).findFirst().orElse(Double.NaN);
        double ratio = r.eventsPerSec() / b.eventsPerSec();
        s.append(String.format(Locale.ROOT, "- %s, %d-row tx: %.0f rows/s, %.1f MB/s of lake files (%.0f bytes/row) = %.2f× baseline (%.0f rows/s); "
                + "target ≥ %.1f× → %s%n", router, ROWS, r.eventsPerSec(), r.eventsPerSec() * bytesPerRow / 1e6, bytesPerRow, ratio, b.eventsPerSec(), goal,
                ratio >= goal ? "met" : "NOT met"));
    }

    private static String okText(Result a, Result b) {
        StringBuilder t = new StringBuilder();
        for (Result r : new Result[] { a, b }) {
            if (r == null || r.runs().isEmpty()) continue;
            if (t.length() > 0) t.append(", ");
            t.append(r.received() - r.duplicates()).append('/').append(r.expected());
            if (r.duplicates() > 0) t.append(" +").append(r.duplicates()).append(" dup");
            if (r.unknown() > 0) t.append(" ").append(r.unknown()).append(" unmatched");
        }
        return t.toString();
    }

    static String ms(double v) {
        if (Double.isNaN(v)) return "—";
        return v >= 100 ? String.format(Locale.ROOT, "%.0f", v) : String.format(Locale.ROOT, "%.1f", v);
    }

    static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) return;
        try (var walk = Files.walk(p)) {
            for (Path x : walk.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(x);
        }
    }
}
