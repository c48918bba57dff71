package io.pgrouter.bench;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

import jakarta.jms.JMSException;
import jakarta.jms.Session;
import jakarta.jms.TextMessage;

import org.apache.activemq.artemis.core.config.impl.ConfigurationImpl;
import org.apache.activemq.artemis.core.server.JournalType;
import org.apache.activemq.artemis.core.server.embedded.EmbeddedActiveMQ;
import org.apache.activemq.artemis.jms.client.ActiveMQConnectionFactory;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * The fault suite (bench/faults.sh, README in bench/): one packaged router under a steady mixed load, with one fault
 * kind at a time, and per fault kind what was written, delivered, lost and delivered twice, and how long until the
 * stream flowed again.
 * <p>
 * Load: {@code bench.faults.rate} transactions a second on one writer connection, each inserting a row into
 * {@code bench.orders} and {@code bench.payments}, emitting a durable message (prefix {@code faults}) and a NOTIFY
 * (channel {@code faults}), all four carrying the same sequence number. A transaction is written when its row is in
 * {@code bench.orders} at the end: the database is the judge, also for a commit whose answer a restart cut off.
 * Routes: the rows to the data lake (Parquet); the rows and messages to a webhook receiver and to an ActiveMQ Artemis
 * queue (both in this JVM); the notifications to the webhook. Every receiver counts what it got by (kind, sequence),
 * so a loss or a duplicate is seen where a user would see it.
 */
public final class FaultsBench {

    static final boolean QUICK = Boolean.getBoolean("bench.faults.quick");
    static final int RATE = Integer.getInteger("bench.faults.rate", 50);
    static final int KILLS = Integer.getInteger("bench.faults.kills", QUICK ? 5 : 20);
    static final int RESTARTS = Integer.getInteger("bench.faults.restarts", QUICK ? 2 : 5);
    static final int DOWN_SECONDS = Integer.getInteger("bench.faults.down-seconds", QUICK ? 30 : 120);
    static final int SLOW_SECONDS = Integer.getInteger("bench.faults.slow-seconds", QUICK ? 20 : 60);
    /** How long the slow webhook receiver takes to answer each request. */
    static final int SLOW_MS = Integer.getInteger("bench.faults.slow-ms", 50);
    /** A reference window of the steady load before the destination goes down, and the steady phase. */
    static final int STEADY_SECONDS = Integer.getInteger("bench.faults.steady-seconds", QUICK ? 15 : 30);
    /** How long the lake's folder stays full (a tmpfs the harness mounts; root only); 0 leaves the phase out. */
    static final int DISK_FULL_SECONDS = Integer.getInteger("bench.faults.disk-full-seconds", QUICK ? 20 : 60);
    static final long RECOVERY_TIMEOUT_MS = 180_000;
    static final long DRAIN_TIMEOUT_MS = Long.getLong("bench.faults.drain-ms", 180_000);

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String[] TABLES = {"bench.orders", "bench.payments"};

    private FaultsBench() {
    }

    public static void main(String... args) throws Exception {
        int[] lost = new int[1];
        Bench.runHarness(() -> lost[0] = run());
        if (lost[0] > 0) throw new IllegalStateException(lost[0] + " durable events lost: see the table above");
    }

    /** One fault kind: the sequence numbers written during it, its cycles' recovery times, and notes for the table. */
    static final class Phase {
        final String fault;
        long firstSeq;
        long endSeq;
        final List<Double> recoverySec = new ArrayList<>();
        int cycles;
        String notes = "";
        /** The machine's 1-minute load average when the phase ended (2 cores: above 2 means others waited for CPU). */
        String load = "?";

        Phase(String fault) {
            this.fault = fault;
        }
    }

    private static int run() throws Exception {
        long started = System.nanoTime();
        Bench.Setup setup = Bench.setUp("bench-faults");
        Path work = setup.work();
        try (Statement s = setup.admin().createStatement()) {
            for (String t : TABLES) {
                s.execute("CREATE TABLE " + t + " (id bigserial PRIMARY KEY, seq bigint NOT NULL, payload text NOT NULL)");
            }
            // ends a walsender whose client went silent sooner than PostgreSQL's 60 s (a killed router's, say); a fast
            // shutdown still waits for a connected router to confirm the last WAL (docs/reliability.md)
            s.execute("ALTER SYSTEM SET wal_sender_timeout = '10s'");
            s.execute("SELECT pg_reload_conf()");
        }

        Bench.say("starting ActiveMQ Artemis (persistent) in this JVM, and a webhook receiver");
        String artemisUrl = "tcp://127.0.0.1:" + Procs.freePort();
        EmbeddedActiveMQ artemis = new EmbeddedActiveMQ().setConfiguration(new ConfigurationImpl().setPersistenceEnabled(true)
                .setSecurityEnabled(false).setJMXManagementEnabled(false).setJournalType(JournalType.NIO)
                .setJournalDirectory(work.resolve("artemis/journal").toString()).setBindingsDirectory(work.resolve("artemis/bindings").toString())
                .setPagingDirectory(work.resolve("artemis/paging").toString()).setLargeMessagesDirectory(work.resolve("artemis/large").toString())
                .addAcceptorConfiguration("tcp", artemisUrl));
        artemis.start();
        Bench.open(artemis::stop);
        Receiver jms = new Receiver("jms");
        jakarta.jms.Connection jmsConnection = new ActiveMQConnectionFactory(artemisUrl).createConnection();
        Bench.open(jmsConnection::close);
        Session session = jmsConnection.createSession(false, Session.AUTO_ACKNOWLEDGE);
        session.createConsumer(session.createQueue("faults")).setMessageListener(m -> {
            try {
                jms.got(((TextMessage) m).getText());
            } catch (JMSException e) {
                throw new IllegalStateException(e);
            }
        });
        jmsConnection.start();
        Webhook webhook = Bench.open(new Webhook());
        webhook.up();

        Path routes = writeRoutes(work);
        Path lake = Files.createDirectories(work.resolve("lake"));
        boolean diskFull = DISK_FULL_SECONDS > 0 && mountTmpfs(lake);
        Router router = Bench.open(new Router(setup, work, routes, "-Dpgrouter.sinks.lake.root=" + lake,
                "-Dpgrouter.bench.webhook-url=http://127.0.0.1:" + webhook.port + "/hook", "-Dpgrouter.bench.jms-url=" + artemisUrl));
        router.start();
        Writer writer = Bench.open(new Writer(setup.db()));
        writer.start();

        List<Phase> phases = new ArrayList<>();
        Phase steady = begin(phases, "none (steady load, " + RATE + " tx/s)", writer);
        Thread.sleep(STEADY_SECONDS * 1000L);
        end(steady, writer, webhook.received, jms);

        Phase kill = begin(phases, "router kill -9", writer);
        List<Double> readySec = new ArrayList<>(), firstSec = new ArrayList<>();
        for (int i = 0; i < KILLS; i++) {
            Thread.sleep(ThreadLocalRandom.current().nextLong(1000, 4000));
            long seq0 = writer.next();
            long t0 = System.nanoTime();
            router.kill();
            long w0 = webhook.received.total.get(), j0 = jms.total.get();
            router.start();
            readySec.add((System.nanoTime() - t0) / 1e9);
            while (webhook.received.total.get() == w0 || jms.total.get() == j0) {
                if (System.nanoTime() - t0 > TimeUnit.MILLISECONDS.toNanos(RECOVERY_TIMEOUT_MS)) throw new IllegalStateException("nothing delivered after a restart");
                Thread.sleep(10);
            }
            firstSec.add((System.nanoTime() - t0) / 1e9);
            kill.recoverySec.add(awaitFlowing(t0, seq0, webhook.received, jms));
            kill.cycles++;
            Bench.say("kill -9 %d/%d: ready after %.1f s, delivering after %.1f s, caught up after %.1f s", i + 1, KILLS, readySec.get(i), firstSec.get(i),
                    kill.recoverySec.get(i));
        }
        kill.notes = "from the kill: router ready (JVM start) " + p50max(readySec) + ", first delivery " + p50max(firstSec)
                + "; recovery = caught up with what was written meanwhile";
        end(kill, writer, webhook.received, jms);

        for (boolean immediate : new boolean[] {false, true}) {
            Phase restart = begin(phases, "PostgreSQL restart (" + (immediate ? "immediate" : "fast") + ")", writer);
            List<Double> stopSec = new ArrayList<>(), upSec = new ArrayList<>();
            for (int i = 0; i < RESTARTS; i++) {
                Thread.sleep(ThreadLocalRandom.current().nextLong(1000, 4000));
                long seq0 = writer.next();
                long t0 = System.nanoTime();
                stopSec.add(restartPostgres(setup, immediate));
                upSec.add((System.nanoTime() - t0) / 1e9);
                restart.recoverySec.add(awaitFlowing(t0, seq0, webhook.received, jms));
                restart.cycles++;
                Bench.say("PostgreSQL %s restart %d/%d: streaming again after %.1f s", immediate ? "immediate" : "fast", i + 1, RESTARTS,
                        restart.recoverySec.get(i));
            }
            restart.notes = "from the signal: PostgreSQL stopped " + p50max(stopSec) + ", accepting connections again " + p50max(upSec);
            end(restart, writer, webhook.received, jms);
        }

        Phase down = begin(phases, "webhook destination down " + DOWN_SECONDS + " s", writer);
        double[] before = rates(STEADY_SECONDS, jms, lake);
        webhook.down();
        long t0 = System.nanoTime();
        Thread.sleep(DOWN_SECONDS * 500L);
        String health = router.readiness();
        double[] during = rates(DOWN_SECONDS / 2, jms, lake);
        long seq0 = writer.next();
        webhook.up();
        down.recoverySec.add(awaitFlowing(System.nanoTime(), seq0, webhook.received));
        down.cycles = 1;
        down.notes = String.format(Locale.ROOT, "other routes kept: lake %.0f %%, JMS %.0f %% of their rate before; readiness while down: %s",
                100 * during[1] / before[1], 100 * during[0] / before[0], health);
        Bench.say("webhook down for %.0f s: %s", (System.nanoTime() - t0) / 1e9, down.notes);
        end(down, writer, webhook.received, jms);

        Phase slow = begin(phases, "webhook receiver slow (" + SLOW_MS + " ms a request) " + SLOW_SECONDS + " s", writer);
        before = rates(STEADY_SECONDS, jms, lake);
        webhook.slowMs = SLOW_MS;
        during = rates(SLOW_SECONDS, jms, lake);
        String slowHealth = router.readiness();
        webhook.slowMs = 0;
        slow.cycles = 1;
        slow.notes = String.format(Locale.ROOT, "other routes kept: lake %.0f %%, JMS %.0f %% of their rate before; readiness while slow: %s",
                100 * during[1] / before[1], 100 * during[0] / before[0], slowHealth);
        Bench.say("webhook slow for %d s: %s", SLOW_SECONDS, slow.notes);
        end(slow, writer, webhook.received, jms);

        if (diskFull) {
            Phase full = begin(phases, "lake folder's disk full " + DISK_FULL_SECONDS + " s (tmpfs)", writer);
            int logBefore = router.errorLines().size();
            Path filler = fill(lake.resolve("filler"));
            Thread.sleep(DISK_FULL_SECONDS * 1000L);
            String fullHealth = router.readiness("pgrouter-sources");
            List<String> errors = router.errorLines();
            errors = errors.subList(Math.min(logBefore, errors.size()), errors.size());
            long seqFree = writer.next();
            Files.delete(filler);
            full.recoverySec.add(awaitFlowing(System.nanoTime(), seqFree, webhook.received, jms));
            full.cycles = 1;
            full.notes = String.format(Locale.ROOT, "ERROR lines in the router's log while full: %d%s; readiness while full: %s", errors.size(),
                    errors.isEmpty() ? "" : " (first: " + errors.get(0).replaceAll("^.*?ERROR +", "") + ")", fullHealth);
            Bench.say("lake disk full for %d s: %s", DISK_FULL_SECONDS, full.notes);
            end(full, writer, webhook.received, jms);
        }

        writer.close();
        Set<Long> written = writer.written();
        Bench.say("the writer stopped: %d transactions written of %d tried; waiting for every receiver to have them all", written.size(), writer.next() - 1);
        Receiver lakeRows = awaitDrained(written, webhook.received, jms, lake);

        StringBuilder table = new StringBuilder();
        table.append("| fault | cycles | events written | delivered | lost | duplicated (per cycle) | recovery p50 / max | NOTIFY sent / missed | load | notes |\n");
        table.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
        int totalLost = 0;
        for (Phase p : phases) {
            Counts c = count(p, written, webhook.received, jms, lakeRows);
            totalLost += c.lost;
            table.append(String.format(Locale.ROOT, "| %s | %d | %d | %d | **%d** | %d (%s) | %s | %d / %d | %s | %s |%n", p.fault, p.cycles, c.written, c.delivered,
                    c.lost, c.duplicated, p.cycles == 0 ? "–" : String.format(Locale.ROOT, "%.0f", (double) c.duplicated / p.cycles),
                    p50max(p.recoverySec),
                    c.notifySent, c.notifyMissed, p.load, p.notes.replace("|", "\\|")));
        }
        String note = String.format(Locale.ROOT, "%nevents written = durable events committed in the phase (2 rows and 1 message per transaction); "
                + "delivered = distinct (receiver, event) pairs expected and received: the lake gets the rows, the webhook and the JMS queue the "
                + "rows and the messages (8 deliveries per transaction); lost = expected deliveries missing at the end; duplicated = "
                + "deliveries beyond the first. Recovery = from the fault until the webhook and the JMS queue both received an event written "
                + "after it (the stream caught up with what was written meanwhile); for the destination down, from the "
                + "receiver's return. NOTIFY is at-most-once: what it missed is "
                + "counted, not lost. load = the machine's 1-minute load average at the phase's end (2 cores). %d min in all.%n", (System.nanoTime() - started) / 60_000_000_000L);
        System.out.println();
        System.out.println("## Faults under a steady mixed load (" + (QUICK ? "--quick" : "full") + " run)");
        System.out.println();
        System.out.print(table);
        System.out.print(note);
        System.out.println(totalLost == 0 ? "\nlost = 0 for every fault" : "\nLOST: " + totalLost + " durable deliveries missing");
        Files.writeString(work.resolve("results.md"), table + note);
        Bench.say("written to %s; router logs: %s/router-*.log", work.resolve("results.md"), work);
        return totalLost;
    }

    private static String p50max(List<Double> seconds) {
        double[] v = seconds.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return v.length == 0 ? "–" : String.format(Locale.ROOT, "%.1f s / %.1f s", Bench.percentile(v, 50), v[v.length - 1]);
    }

    private static Phase begin(List<Phase> phases, String fault, Writer writer) {
        Phase p = new Phase(fault);
        p.firstSeq = writer.next();
        phases.add(p);
        Bench.say("phase: %s", fault);
        return p;
    }

    private static void end(Phase p, Writer writer, Receiver... receivers) throws InterruptedException {
        p.endSeq = writer.next();
        p.load = Bench.loadAverage();
        // the next fault starts on a stream that caught up: its redeliveries are not counted against this phase
        awaitFlowing(System.nanoTime(), p.endSeq, receivers);
    }

    /** Seconds from {@code t0} until every receiver got an event written after sequence {@code seq0}. */
    private static double awaitFlowing(long t0, long seq0, Receiver... receivers) throws InterruptedException {
        long deadline = t0 + TimeUnit.MILLISECONDS.toNanos(RECOVERY_TIMEOUT_MS);
        for (Receiver r : receivers) {
            while (r.maxSeq.get() < seq0) {
                if (System.nanoTime() > deadline) throw new IllegalStateException(r.name + " got nothing new within " + RECOVERY_TIMEOUT_MS + " ms of a fault");
                Thread.sleep(10);
            }
        }
        return (System.nanoTime() - t0) / 1e9;
    }

    /** Events per second the JMS queue and the lake received over the next {@code seconds}. */
    private static double[] rates(int seconds, Receiver jms, Path lake) throws Exception {
        long j0 = jms.total.get();
        long l0 = lakeRowCount(lake);
        long t0 = System.nanoTime();
        Thread.sleep(seconds * 1000L);
        double s = (System.nanoTime() - t0) / 1e9;
        return new double[] {(jms.total.get() - j0) / s, (lakeRowCount(lake) - l0) / s};
    }

    private static long lakeRowCount(Path lake) throws SQLException {
        try (Connection c = java.sql.DriverManager.getConnection("jdbc:duckdb:"); Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT count(*) FROM read_parquet('" + lake + "/*/*/*/*.parquet')")) {
            rs.next();
            return rs.getLong(1);
        } catch (SQLException e) {
            if (String.valueOf(e.getMessage()).contains("No files found")) return 0;
            throw e;
        }
    }

    /** The lake's rows as DuckDB reads them, by (table, sequence). */
    private static Receiver readLake(Path lake) throws SQLException {
        Receiver r = new Receiver("lake");
        for (String table : TABLES) {
            Path folder = lake.resolve(table);
            if (!Files.isDirectory(folder)) continue;
            try (Connection c = java.sql.DriverManager.getConnection("jdbc:duckdb:"); Statement s = c.createStatement();
                    ResultSet rs = s.executeQuery("SELECT seq, count(*) FROM read_parquet('" + folder + "/*/*/*.parquet') GROUP BY seq")) {
                while (rs.next()) r.add(kind(table) + ":" + rs.getLong(1), rs.getInt(2));
            } catch (SQLException e) {
                if (!String.valueOf(e.getMessage()).contains("No files found")) throw e;
            }
        }
        return r;
    }

    /** Waits until each receiver has every delivery it should (or the drain timeout); returns the lake's receipts. */
    private static Receiver awaitDrained(Set<Long> written, Receiver webhook, Receiver jms, Path lake) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(DRAIN_TIMEOUT_MS);
        while (true) {
            Receiver lakeRows = readLake(lake);
            long missing = 0;
            for (long seq : written) {
                for (String t : TABLES) {
                    String k = kind(t) + ":" + seq;
                    if (!lakeRows.has(k)) missing++;
                    if (!webhook.has(k)) missing++;
                    if (!jms.has(k)) missing++;
                }
                if (!webhook.has("message:" + seq)) missing++;
                if (!jms.has("message:" + seq)) missing++;
            }
            if (missing == 0 || System.nanoTime() > deadline) {
                if (missing > 0) Bench.say("after %d s, %d deliveries are still missing", DRAIN_TIMEOUT_MS / 1000, missing);
                return lakeRows;
            }
            Thread.sleep(1000);
        }
    }

    record Counts(long written, long delivered, int lost, long duplicated, long notifySent, long notifyMissed) {
    }

    private static Counts count(Phase p, Set<Long> written, Receiver webhook, Receiver jms, Receiver lake) {
        long events = 0, delivered = 0, duplicated = 0, notifySent = 0, notifyMissed = 0;
        int lost = 0;
        for (long seq = p.firstSeq; seq < p.endSeq; seq++) {
            if (!written.contains(seq)) continue;
            events += 3;
            List<String> rows = List.of(kind(TABLES[0]) + ":" + seq, kind(TABLES[1]) + ":" + seq);
            String message = "message:" + seq;
            for (Receiver r : List.of(lake, webhook, jms)) {
                List<String> expected = new ArrayList<>(rows);
                if (r != lake) expected.add(message);
                for (String k : expected) {
                    int n = r.count(k);
                    if (n == 0) {
                        lost++;
                    } else {
                        delivered++;
                        duplicated += n - 1;
                    }
                }
            }
            notifySent++;
            if (!webhook.has("notify:" + seq)) notifyMissed++;
        }
        return new Counts(events, delivered, lost, duplicated, notifySent, notifyMissed);
    }

    private static String kind(String table) {
        return table.substring(table.indexOf('.') + 1);
    }

    /** What one receiver got, by (kind, sequence): kind = orders, payments, message or notify. */
    static final class Receiver {
        final String name;
        final Map<String, AtomicInteger> counts = new ConcurrentHashMap<>();
        final AtomicLong maxSeq = new AtomicLong(-1);
        final AtomicLong total = new AtomicLong();

        Receiver(String name) {
            this.name = name;
        }

        /** A CloudEvent as JSON: rows by their table, messages and notifications by the sequence in their payload. */
        void got(String cloudEvent) {
            try {
                JsonNode ce = JSON.readTree(cloudEvent);
                String type = ce.path("type").asText();
                String key;
                long seq;
                if (type.startsWith("postgres.row.")) {
                    seq = ce.path("data").path("after").path("seq").asLong();
                    key = ce.path("pgtable").asText() + ":" + seq;
                } else {
                    seq = ce.path("data").path("seq").asLong();
                    key = ("postgres.notify".equals(type) ? "notify:" : "message:") + seq;
                }
                add(key, 1);
                maxSeq.accumulateAndGet(seq, Math::max);
            } catch (IOException e) {
                System.err.println("[bench] " + name + " got something that is not a CloudEvent: " + e.getMessage());
            }
        }

        void add(String key, int n) {
            counts.computeIfAbsent(key, k -> new AtomicInteger()).addAndGet(n);
            total.addAndGet(n);
        }

        int count(String key) {
            AtomicInteger n = counts.get(key);
            return n == null ? 0 : n.get();
        }

        boolean has(String key) {
            return count(key) > 0;
        }
    }

    /** The webhook receiver: up (204 at once), slow ({@link #slowMs} per request) or down (its port refuses connections). */
    static final class Webhook implements AutoCloseable {
        final Receiver received = new Receiver("webhook");
        final int port;
        volatile int slowMs;
        private com.sun.net.httpserver.HttpServer server;
        private ExecutorService handlers;

        Webhook() throws IOException {
            port = Procs.freePort();
        }

        synchronized void up() throws IOException {
            server = com.sun.net.httpserver.HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 64);
            server.createContext("/", exchange -> {
                try (exchange) {
                    String body = new String(exchange.getRequestBody().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
                    int wait = slowMs;
                    if (wait > 0) LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(wait));
                    received.got(body);
                    exchange.sendResponseHeaders(204, -1);
                }
            });
            handlers = Executors.newFixedThreadPool(4);
            server.setExecutor(handlers);
            server.start();
        }

        synchronized void down() {
            server.stop(0);
            handlers.shutdownNow();
            server = null;
        }

        @Override
        public synchronized void close() {
            if (server != null) down();
        }
    }

    /** The packaged router, started again after each kill; one log file per start. */
    static final class Router implements AutoCloseable {
        private final Bench.Setup setup;
        private final Path work;
        private final Path routes;
        private final String[] props;
        private final int httpPort;
        private Process process;
        private int starts;

        Router(Bench.Setup setup, Path work, Path routes, String... props) throws IOException {
            this.setup = setup;
            this.work = work;
            this.routes = routes;
            this.props = props;
            this.httpPort = Procs.freePort();
        }

        void start() throws Exception {
            starts++;
            process = RouterConsumer.launch(setup.jar(), work, setup.db().jdbcUrl(), routes, "faults", httpPort, work.resolve("router-" + starts + ".log"),
                    props);
        }

        /** SIGKILL, as {@code kill -9}: no shutdown hook, no last offset stored. */
        void kill() throws InterruptedException {
            process.destroyForcibly();
            process.waitFor();
        }

        /** The ERROR lines of the current router's log. */
        List<String> errorLines() throws IOException {
            try (var lines = Files.lines(work.resolve("router-" + starts + ".log"))) {
                return lines.filter(l -> l.contains(" ERROR ")).toList();
            }
        }

        /** The readiness answer, the sinks' check only, on one line. */
        String readiness() {
            return readiness("pgrouter-sinks");
        }

        /** The readiness status and the data of one check, on one line. */
        String readiness(String checkName) {
            try {
                String body = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + "/q/health/ready"))
                        .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString()).body();
                JsonNode health = JSON.readTree(body);
                for (JsonNode check : health.path("checks")) {
                    if (checkName.equals(check.path("name").asText())) {
                        return health.path("status").asText() + ", " + checkName + " " + check.path("data");
                    }
                }
                return health.path("status").asText();
            } catch (Exception e) {
                return "no answer (" + e + ")";
            }
        }

        @Override
        public void close() {
            Procs.stop(process, 30_000);
        }
    }

    /**
     * The application: one connection, one transaction per tick at {@link #RATE} a second (2 rows, a durable message, a
     * NOTIFY, one sequence number). While PostgreSQL is down it reconnects every 100 ms; the schedule then starts anew.
     */
    static final class Writer implements AutoCloseable {
        private final io.pgrouter.demo.EmbeddedDatabase db;
        private final AtomicLong next = new AtomicLong(1);
        private volatile boolean running;
        private Thread thread;

        Writer(io.pgrouter.demo.EmbeddedDatabase db) {
            this.db = db;
        }

        /** The sequence number the next transaction gets. */
        long next() {
            return next.get();
        }

        void start() {
            running = true;
            thread = new Thread(this::write, "bench-faults-writer");
            thread.setDaemon(true);
            thread.start();
        }

        private void write() {
            Connection c = null;
            long step = 1_000_000_000L / RATE;
            long t0 = System.nanoTime();
            long tick = 0;
            while (running) {
                long wait = t0 + tick * step - System.nanoTime();
                if (wait > 0) LockSupport.parkNanos(wait);
                tick++;
                try {
                    if (c == null) {
                        c = db.connect();
                        c.setAutoCommit(false);
                    }
                    long seq = next.getAndIncrement();
                    String payload = "{\"seq\":" + seq + "}";
                    try (PreparedStatement orders = c.prepareStatement("INSERT INTO bench.orders (seq, payload) VALUES (?, ?)");
                            PreparedStatement payments = c.prepareStatement("INSERT INTO bench.payments (seq, payload) VALUES (?, ?)");
                            PreparedStatement emit = c.prepareStatement("SELECT pg_logical_emit_message(true, 'faults', ?), pg_notify('faults', ?)")) {
                        for (PreparedStatement p : List.of(orders, payments)) {
                            p.setLong(1, seq);
                            p.setString(2, Bench.PAYLOAD);
                            p.executeUpdate();
                        }
                        emit.setString(1, payload);
                        emit.setString(2, payload);
                        emit.execute();
                    }
                    c.commit();
                } catch (SQLException e) {
                    // PostgreSQL restarting: whether the last commit made it is read from the table at the end
                    try {
                        if (c != null) c.close();
                    } catch (SQLException ignored) {
                        // the connection is gone anyway
                    }
                    c = null;
                    LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(100));
                    t0 = System.nanoTime();
                    tick = 0;
                }
            }
            try {
                if (c != null) c.close();
            } catch (SQLException ignored) {
                // closing at the end
            }
        }

        /** The sequence numbers whose transaction committed: those in bench.orders. */
        Set<Long> written() throws SQLException {
            Set<Long> out = new HashSet<>();
            try (Connection c = db.connect(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT seq FROM bench.orders")) {
                while (rs.next()) out.add(rs.getLong(1));
            }
            return out;
        }

        @Override
        public void close() throws InterruptedException {
            running = false;
            if (thread != null) thread.join(10_000);
        }
    }

    /** A tmpfs on the lake's folder, so it can be filled up; false (the phase is left out) when not root or mount fails. */
    private static boolean mountTmpfs(Path lake) throws Exception {
        if (!"root".equals(System.getProperty("user.name"))) {
            Bench.say("not root: the disk-full phase is left out (it mounts a tmpfs on the lake's folder)");
            return false;
        }
        Process mount = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=512m", "tmpfs", lake.toString()).inheritIO().start();
        if (mount.waitFor() != 0) {
            Bench.say("mount -t tmpfs failed: the disk-full phase is left out");
            return false;
        }
        Bench.open(() -> new ProcessBuilder("umount", "-l", lake.toString()).inheritIO().start().waitFor());
        return true;
    }

    /** Writes {@code file} until the file system is full. */
    private static Path fill(Path file) throws IOException {
        byte[] chunk = new byte[1 << 20];
        try (var out = Files.newOutputStream(file)) {
            while (true) out.write(chunk);
        } catch (IOException full) {
            if (!String.valueOf(full.getMessage()).contains("No space left")) throw full;
        }
        return file;
    }

    /**
     * Stops PostgreSQL with a fast (SIGINT) or immediate (SIGQUIT) shutdown of its postmaster, and starts it again;
     * returns the seconds until the postmaster had exited.
     */
    private static double restartPostgres(Bench.Setup setup, boolean immediate) throws Exception {
        Path pidFile = setup.db().dataDir().resolve("postmaster.pid");
        long pid = Long.parseLong(Files.readAllLines(pidFile).get(0).trim());
        ProcessHandle postmaster = ProcessHandle.of(pid).orElseThrow();
        long t0 = System.nanoTime();
        new ProcessBuilder("kill", immediate ? "-QUIT" : "-INT", Long.toString(pid)).inheritIO().start().waitFor();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        while (postmaster.isAlive()) {
            if (System.nanoTime() > deadline) throw new IllegalStateException("PostgreSQL " + pid + " did not stop within 90 s");
            Thread.sleep(20);
        }
        // zonky's stop now finds no server (pg_ctl says so) and releases its lock on the data directory; then a start
        double stopped = (System.nanoTime() - t0) / 1e9;
        setup.db().stop();
        setup.db().start();
        return stopped;
    }

    /** The routes, written into the run's folder (route id = file name). */
    private static Path writeRoutes(Path work) throws IOException {
        Path routes = Files.createDirectories(work.resolve("routes"));
        route(routes, "faults-rows-to-lake", "pg:wal", "tables: " + String.join(",", TABLES),
                "\"kamelet:datalake-sink?target={{pgrouter.sinks.lake.root}}&format=parquet\"");
        route(routes, "faults-rows-and-messages-to-webhook", "pg:wal", "tables: " + String.join(",", TABLES) + "\n        messages: faults",
                "\"kamelet:webhook-sink?url={{pgrouter.bench.webhook-url}}\"");
        route(routes, "faults-rows-and-messages-to-jms", "pg:wal", "tables: " + String.join(",", TABLES) + "\n        messages: faults",
                "\"kamelet:jms-sink?brokerUrl={{pgrouter.bench.jms-url}}&destination=faults\"");
        route(routes, "faults-notify-to-webhook", "pg:notify", "channels: faults", "\"kamelet:webhook-sink?url={{pgrouter.bench.webhook-url}}\"");
        return routes;
    }

    private static void route(Path dir, String id, String uri, String parameters, String to) throws IOException {
        Files.writeString(dir.resolve(id + ".yaml"), String.join("\n",
                "# written by bench/faults.sh (FaultsBench)",
                "- route:",
                "    id: " + id,
                "    from:",
                "      uri: " + uri,
                "      parameters:",
                "        " + parameters,
                "      steps:",
                "        - to: " + to,
                ""));
    }
}
