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

import io.pgrouter.testing.TcpForwarder;

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
 * Routes: the rows to the data lake (Parquet) and to a search index (OpenSearch); the rows and messages to a webhook
 * receiver, an ActiveMQ Artemis queue, a Kafka topic and a RabbitMQ queue ({@link FaultDestinations}); the
 * notifications to the webhook. Every receiver counts what it got by (kind, sequence), so a loss or a duplicate is
 * seen where a user would see it; the lake (DuckDB) and the index are read at the end.
 */
public final class FaultsBench {

    static final boolean QUICK = Boolean.getBoolean("bench.faults.quick");
    static final int RATE = Integer.getInteger("bench.faults.rate", 50);
    static final int KILLS = Integer.getInteger("bench.faults.kills", QUICK ? 2 : 20);
    static final int RESTARTS = Integer.getInteger("bench.faults.restarts", QUICK ? 1 : 5);
    static final int DOWN_SECONDS = Integer.getInteger("bench.faults.down-seconds", QUICK ? 10 : 120);
    static final int SLOW_SECONDS = Integer.getInteger("bench.faults.slow-seconds", QUICK ? 6 : 60);
    /** How long the slow webhook receiver takes to answer each request. */
    static final int SLOW_MS = Integer.getInteger("bench.faults.slow-ms", 50);
    /** A reference window of the steady load before the destination goes down, and the steady phase. */
    static final int STEADY_SECONDS = Integer.getInteger("bench.faults.steady-seconds", QUICK ? 5 : 30);
    /** How long the lake's folder stays full (a tmpfs the harness mounts; root only); 0 leaves the phase out. */
    static final int DISK_FULL_SECONDS = Integer.getInteger("bench.faults.disk-full-seconds", QUICK ? 6 : 60);
    /** Silent partitions between the router and PostgreSQL, and how long each lasts. */
    static final int PARTITIONS = Integer.getInteger("bench.faults.partitions", QUICK ? 1 : 3);
    static final int PARTITION_SECONDS = Integer.getInteger("bench.faults.partition-seconds", QUICK ? 20 : 60);
    /** The PostgreSQL 17 failover phase (its own primary, standby and router), last. */
    static final boolean FAILOVER = Boolean.parseBoolean(System.getProperty("bench.faults.failover", "true"));
    /** The failover phase's writer numbers its transactions from here, apart from the main writer's. */
    static final long FAILOVER_FIRST_SEQ = 1_000_000_000L;
    static final long RECOVERY_TIMEOUT_MS = 180_000;
    static final long DRAIN_TIMEOUT_MS = Long.getLong("bench.faults.drain-ms", 180_000);
    /** Which destinations go down in turn (names as in the table, lower case, comma-separated; empty: all of them). */
    static final String OUTAGES = System.getProperty("bench.faults.outages", "").toLowerCase(Locale.ROOT);

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String[] TABLES = {"bench.orders", "bench.payments"};
    /** The search index of each table (the search sink's default: the table's name). */
    private static final List<String> INDEXES = List.of("orders", "payments");

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

        Bench.say("starting ActiveMQ Artemis (persistent) and Kafka in this JVM, RabbitMQ, OpenSearch, and a webhook receiver");
        Process searchNode = SearchBench.startNode(work, "512m");
        int artemisPort = Procs.freePort();
        String artemisUrl = "tcp://127.0.0.1:" + artemisPort;
        EmbeddedActiveMQ artemis = new EmbeddedActiveMQ().setConfiguration(new ConfigurationImpl().setPersistenceEnabled(true)
                .setSecurityEnabled(false).setJMXManagementEnabled(false).setJournalType(JournalType.NIO)
                .setJournalDirectory(work.resolve("artemis/journal").toString()).setBindingsDirectory(work.resolve("artemis/bindings").toString())
                .setPagingDirectory(work.resolve("artemis/paging").toString()).setLargeMessagesDirectory(work.resolve("artemis/large").toString())
                .addAcceptorConfiguration("tcp", artemisUrl));
        artemis.start();
        Bench.open(artemis::stop);
        Receiver jms = new Receiver("jms");
        // the harness' consumer reconnects by itself when the broker is stopped and started again (the JMS outage)
        jakarta.jms.Connection jmsConnection = new ActiveMQConnectionFactory(artemisUrl + "?reconnectAttempts=-1&retryInterval=200").createConnection();
        Bench.open(jmsConnection::close);
        // acknowledged lazily: the consumer keeps up with a backlog re-sent in batches (a redelivered message counts as a duplicate)
        Session session = jmsConnection.createSession(false, Session.DUPS_OK_ACKNOWLEDGE);
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
        FaultDestinations.Kafka kafka = Bench.open(new FaultDestinations.Kafka(work));
        FaultDestinations.Rabbit rabbit = Bench.open(new FaultDestinations.Rabbit());
        FaultDestinations.Search search = Bench.open(new FaultDestinations.Search(searchNode));
        // the receivers that count each delivery (the lake and the search index are read at the end)
        Receiver[] counted = {webhook.received, jms, kafka.received, rabbit.received};
        // Artemis is stopped for real: its clients learn the acceptor's address from the broker and would go round a forwarder
        List<FaultDestinations.Outage> outages = List.of(webhook.outage(), FaultDestinations.outage("JMS (Artemis)", artemis::stop, artemis::start),
                kafka.outage(), FaultDestinations.cut("RabbitMQ", rabbit.forwarder), FaultDestinations.cut("search (OpenSearch)", search.forwarder));

        Path routes = writeRoutes(work);
        Path lake = Files.createDirectories(work.resolve("lake"));
        boolean diskFull = DISK_FULL_SECONDS > 0 && mountTmpfs(lake);
        // the router reaches PostgreSQL through a forwarder, which the partition phase silences
        TcpForwarder pgPath = Bench.open(new TcpForwarder(setup.db().port()));
        String[] destinations = {"-Dpgrouter.sinks.lake.root=" + lake,
                "-Dpgrouter.bench.webhook-url=http://127.0.0.1:" + webhook.port + "/hook", "-Dpgrouter.bench.jms-url=" + artemisUrl,
                "-Dpgrouter.bench.kafka=" + kafka.node.bootstrapServers(), "-Dpgrouter.bench.rabbitmq-url=" + rabbit.url(),
                "-Dpgrouter.bench.search-url=" + search.url()};
        Router router = Bench.open(new Router(setup, work, routes, "jdbc:postgresql://127.0.0.1:" + pgPath.port() + "/postgres", destinations));
        router.start();
        Writer writer = Bench.open(new Writer(setup.db()::connect, 1));
        writer.start();

        List<Phase> phases = new ArrayList<>();
        Phase steady = begin(phases, "none (steady load, " + RATE + " tx/s)", writer);
        Thread.sleep(STEADY_SECONDS * 1000L);
        end(steady, writer, counted);

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
            kill.recoverySec.add(awaitFlowing(t0, seq0, counted));
            kill.cycles++;
            Bench.say("kill -9 %d/%d: ready after %.1f s, delivering after %.1f s, caught up after %.1f s", i + 1, KILLS, readySec.get(i), firstSec.get(i),
                    kill.recoverySec.get(i));
        }
        kill.notes = "from the kill: router ready (JVM start) " + p50max(readySec) + ", first delivery " + p50max(firstSec)
                + "; recovery = caught up with what was written meanwhile";
        end(kill, writer, counted);

        for (boolean immediate : new boolean[] {false, true}) {
            Phase restart = begin(phases, "PostgreSQL restart (" + (immediate ? "immediate" : "fast") + ")", writer);
            List<Double> stopSec = new ArrayList<>(), upSec = new ArrayList<>();
            for (int i = 0; i < RESTARTS; i++) {
                Thread.sleep(ThreadLocalRandom.current().nextLong(1000, 4000));
                long seq0 = writer.next();
                long t0 = System.nanoTime();
                stopSec.add(restartPostgres(setup, immediate));
                upSec.add((System.nanoTime() - t0) / 1e9);
                restart.recoverySec.add(awaitFlowing(t0, seq0, counted));
                restart.cycles++;
                Bench.say("PostgreSQL %s restart %d/%d: streaming again after %.1f s", immediate ? "immediate" : "fast", i + 1, RESTARTS,
                        restart.recoverySec.get(i));
            }
            restart.notes = "from the signal: PostgreSQL stopped " + p50max(stopSec) + ", accepting connections again " + p50max(upSec);
            end(restart, writer, counted);
        }

        for (FaultDestinations.Outage outage : outages) {
            if (!OUTAGES.isBlank() && java.util.Arrays.stream(OUTAGES.split(",")).noneMatch(o -> outage.name().toLowerCase(Locale.ROOT).startsWith(o.trim()))) {
                continue;
            }
            Phase down = begin(phases, outage.name() + " destination down " + DOWN_SECONDS + " s", writer);
            Map<String, Double> before = rates(STEADY_SECONDS, counted, lake, search);
            outage.down();
            long t0 = System.nanoTime();
            Thread.sleep(DOWN_SECONDS * 500L);
            String health = router.readiness();
            Map<String, Double> during = rates(DOWN_SECONDS / 2, counted, lake, search);
            long seq0 = writer.next();
            outage.up();
            long back = System.nanoTime();
            down.recoverySec.add(awaitFlowing(back, seq0, counted));
            String caughtUp = caughtUp(back, writer, down.firstSeq, seq0, receiverOf(outage, counted), counted);
            down.cycles = 1;
            down.notes = "other routes kept " + kept(before, during, receiverOf(outage, counted)) + " of their rate before; " + caughtUp
                    + "; readiness while down: " + health;
            Bench.say("%s down for %.0f s: %s", outage.name(), (System.nanoTime() - t0) / 1e9, down.notes);
            end(down, writer, counted);
        }

        Phase slow = begin(phases, "webhook receiver slow (" + SLOW_MS + " ms a request) " + SLOW_SECONDS + " s", writer);
        Map<String, Double> before = rates(STEADY_SECONDS, counted, lake, search);
        webhook.slowMs = SLOW_MS;
        Map<String, Double> during = rates(SLOW_SECONDS, counted, lake, search);
        String slowHealth = router.readiness();
        webhook.slowMs = 0;
        slow.cycles = 1;
        slow.notes = "other routes kept " + kept(before, during, "webhook") + " of their rate before; readiness while slow: " + slowHealth;
        Bench.say("webhook slow for %d s: %s", SLOW_SECONDS, slow.notes);
        end(slow, writer, counted);

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
            full.recoverySec.add(awaitFlowing(System.nanoTime(), seqFree, counted));
            full.cycles = 1;
            full.notes = String.format(Locale.ROOT, "ERROR lines in the router's log while full: %d%s; readiness while full: %s", errors.size(),
                    errors.isEmpty() ? "" : " (first: " + errors.get(0).replaceAll("^.*?ERROR +", "") + ")", fullHealth);
            Bench.say("lake disk full for %d s: %s", DISK_FULL_SECONDS, full.notes);
            end(full, writer, counted);
        }

        if (PARTITIONS > 0) {
            Phase cut = begin(phases, "network partition router ⇄ PostgreSQL " + PARTITION_SECONDS + " s (silent: no byte, no reset)", writer);
            List<String> notes = new ArrayList<>();
            for (int i = 0; i < PARTITIONS; i++) notes.add(partition(cut, pgPath, router, writer, counted));
            cut.notes = String.join("; ", notes);
            end(cut, writer, counted);
        }

        writer.close();
        Set<Long> written = new HashSet<>(writer.written());
        Bench.say("the writer stopped: %d transactions written of %d tried; waiting for every receiver to have them all", written.size(), writer.next() - 1);
        Receiver[] read = awaitDrained(written, counted, lake, search);
        if (FAILOVER) {
            router.close();
            written.addAll(failover(phases, setup, work, routes, destinations, counted, lake, search));
            read = awaitDrained(written, counted, lake, search);
        }

        StringBuilder table = new StringBuilder();
        table.append("| fault | cycles | events written | delivered | lost | duplicated (per cycle) | recovery p50 / max | NOTIFY sent / missed | load | notes |\n");
        table.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
        int totalLost = 0;
        for (Phase p : phases) {
            Counts c = count(p, written, counted, read);
            totalLost += c.lost;
            table.append(String.format(Locale.ROOT, "| %s | %d | %d | %d | **%d** | %d (%s) | %s | %d / %d | %s | %s |%n", p.fault, p.cycles, c.written, c.delivered,
                    c.lost, c.duplicated, p.cycles == 0 ? "–" : String.format(Locale.ROOT, "%.0f", (double) c.duplicated / p.cycles),
                    p50max(p.recoverySec),
                    c.notifySent, c.notifyMissed, p.load, p.notes.replace("|", "\\|")));
        }
        String note = String.format(Locale.ROOT, "%nevents written = durable events committed in the phase (2 rows and 1 message per transaction); "
                + "delivered = distinct (destination, event) pairs expected and received: the lake and the search index get the rows, the webhook, "
                + "the JMS queue, the Kafka topic and the RabbitMQ queue the rows and the messages (16 deliveries per transaction); lost = "
                + "expected deliveries missing at the end; duplicated = deliveries beyond the first (not seen in the search index, which keeps "
                + "one document per row). Recovery = from the fault until the webhook, JMS, Kafka and RabbitMQ all received an event written "
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

    /**
     * One silent partition between the router and PostgreSQL ({@link TcpForwarder#silence}: connections stay open, no
     * byte and no close goes through); the writer, on its own path, keeps writing. Notes when readiness went DOWN and
     * when it was UP again.
     */
    private static String partition(Phase cut, TcpForwarder pgPath, Router router, Writer writer, Receiver[] counted) throws Exception {
        Thread.sleep(ThreadLocalRandom.current().nextLong(1000, 3000));
        long t0 = System.nanoTime();
        pgPath.silence(true);
        double downAfter = -1;
        while (System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(PARTITION_SECONDS)) {
            if (downAfter < 0 && router.readiness("pgrouter-sources").startsWith("DOWN")) downAfter = (System.nanoTime() - t0) / 1e9;
            Thread.sleep(200);
        }
        String health = router.readiness("pgrouter-sources");
        long seq0 = writer.next();
        long healed = System.nanoTime();
        pgPath.silence(false);
        double upAfter = -1;
        while (System.nanoTime() - healed < TimeUnit.MILLISECONDS.toNanos(RECOVERY_TIMEOUT_MS)) {
            if (router.readiness("pgrouter-sources").startsWith("UP")) {
                upAfter = (System.nanoTime() - healed) / 1e9;
                break;
            }
            Thread.sleep(200);
        }
        cut.recoverySec.add(awaitFlowing(healed, seq0, counted));
        cut.cycles++;
        String notes = String.format(Locale.ROOT, "cut %d: readiness DOWN %s after the cut, UP again %s after healing%s", cut.cycles,
                downAfter < 0 ? "never" : String.format(Locale.ROOT, "%.1f s", downAfter), upAfter < 0 ? "never" : String.format(Locale.ROOT, "%.1f s", upAfter),
                cut.cycles == 1 ? " (recovery: from healing); at the end of the cut: " + health : "");
        Bench.say("partition %d: %s", cut.cycles, notes);
        return notes;
    }

    /**
     * PostgreSQL 17 primary failover: a primary and a physical standby that synchronises the router's failover slot
     * (zonky's PostgreSQL 17 binaries, as PostgresFailoverIT), behind one address that follows the primary (a
     * forwarder, for a virtual IP or a Service); a second router on it with pgrouter.wal.slot-failover and the same
     * routes and destinations, and a writer on that address. The primary crashes under the load, the standby is
     * promoted, the address moves. Returns the transactions written (as the new primary has them).
     */
    private static Set<Long> failover(List<Phase> phases, Bench.Setup setup, Path work, Path routes, String[] destinations, Receiver[] counted,
            Path lake, FaultDestinations.Search search) throws Exception {
        Bench.say("PostgreSQL 17 primary and standby (failover slots) for the failover phase");
        String password = "failover-" + Long.toHexString(ThreadLocalRandom.current().nextLong());
        io.pgrouter.testing.FailoverPostgres pg = Bench.open(new io.pgrouter.testing.FailoverPostgres(Files.createDirectories(work.resolve("pg17")), password)).start();
        try (Connection c = pg.primary(); Statement s = c.createStatement()) {
            s.execute("CREATE SCHEMA bench");
            for (String t : TABLES) {
                s.execute("CREATE TABLE " + t + " (id bigserial PRIMARY KEY, seq bigint NOT NULL, payload text NOT NULL)");
                // the search index keeps a document per primary key: this phase's rows must not take the main run's ids
                s.execute("ALTER SEQUENCE " + t + "_id_seq RESTART " + FAILOVER_FIRST_SEQ);
            }
        }
        TcpForwarder address = Bench.open(new TcpForwarder(pg.primaryPort()));
        String url = "jdbc:postgresql://127.0.0.1:" + address.port() + "/postgres";
        List<String> props = new ArrayList<>(List.of(destinations));
        props.addAll(List.of("-Dpgrouter.postgres.password=" + password, "-Dpgrouter.wal.slot-failover=true"));
        Router router = Bench.open(new Router(setup, Files.createDirectories(work.resolve("failover")), routes, url, props.toArray(String[]::new)));
        router.start();
        Writer writer = Bench.open(new Writer(() -> java.sql.DriverManager.getConnection(url, "postgres", password), FAILOVER_FIRST_SEQ));
        Phase phase = begin(phases, "PostgreSQL 17 primary failover (crash, standby promoted, address moved)", writer);
        writer.start();
        Thread.sleep(STEADY_SECONDS * 1000L);
        awaitFlowing(System.nanoTime(), writer.next() - 1, counted);
        // the standby's copy of the slot exists and has caught up once (it is synchronised every few seconds)
        String confirmed;
        try (Connection c = pg.primary(); Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = 'faults'")) {
            rs.next();
            confirmed = rs.getString(1);
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!synced(pg, confirmed)) {
            if (System.nanoTime() > deadline) throw new IllegalStateException("the standby did not synchronise slot faults within 60 s");
            Thread.sleep(200);
        }
        Thread.sleep(ThreadLocalRandom.current().nextLong(1000, 3000));
        long seq0 = writer.next();
        long t0 = System.nanoTime();
        pg.crashPrimary();
        pg.promoteStandby();
        double promoted = (System.nanoTime() - t0) / 1e9;
        address.moveTo(pg.standbyPort());
        phase.recoverySec.add(awaitFlowing(t0, seq0, counted));
        phase.cycles = 1;
        phase.notes = String.format(Locale.ROOT, "recovery from the crash; the standby promoted %.1f s after it; the router streams on from the slot the standby "
                + "synchronised (pgrouter.wal.slot-failover), without a restart; this phase has its own PostgreSQL and router", promoted);
        Bench.say("failover: %s, caught up after %.1f s", phase.notes, phase.recoverySec.get(0));
        Thread.sleep(STEADY_SECONDS * 1000L);
        end(phase, writer, counted);
        writer.close();
        Set<Long> written = writer.written();
        // the router delivers what was written up to the writer's last commit before it stops
        awaitDrained(written, counted, lake, search);
        router.close();
        return written;
    }

    private static boolean synced(io.pgrouter.testing.FailoverPostgres pg, String lsn) throws SQLException {
        try (Connection c = pg.standby(); PreparedStatement ps = c.prepareStatement("SELECT confirmed_flush_lsn >= ?::pg_lsn FROM pg_replication_slots "
                + "WHERE slot_name = 'faults' AND synced AND failover")) {
            ps.setString(1, lsn);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() && rs.getBoolean(1);
            }
        }
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

    /**
     * How long after the destination's return its receiver had every event written while it was down (the backlog
     * re-sent from the retry store, while new events keep coming), waiting up to the drain timeout.
     */
    private static String caughtUp(long back, Writer writer, long firstSeq, long lastSeq, String receiver, Receiver[] counted) throws Exception {
        Receiver r = null;
        for (Receiver c : counted) if (c.name.equals(receiver)) r = c;
        if (r == null) return "backlog not measured (no counting receiver)";
        Set<Long> written = writer.written();
        long deadline = back + TimeUnit.MILLISECONDS.toNanos(DRAIN_TIMEOUT_MS);
        while (true) {
            long missing = 0;
            for (long seq = firstSeq; seq < lastSeq; seq++) {
                if (!written.contains(seq)) continue;
                for (String k : expected(r, seq)) if (r.count(k) == 0) missing++;
            }
            if (missing == 0) return String.format(Locale.ROOT, "the backlog was re-sent %.1f s after its return", (System.nanoTime() - back) / 1e9);
            if (System.nanoTime() > deadline) return missing + " events of the backlog still missing " + DRAIN_TIMEOUT_MS / 1000 + " s after its return";
            Thread.sleep(200);
        }
    }

    /** Deliveries per second each receiver, the lake and the search index got over the next {@code seconds}. */
    private static Map<String, Double> rates(int seconds, Receiver[] counted, Path lake, FaultDestinations.Search search) throws Exception {
        Map<String, Long> first = totals(counted, lake, search);
        long t0 = System.nanoTime();
        Thread.sleep(seconds * 1000L);
        Map<String, Long> last = totals(counted, lake, search);
        double s = (System.nanoTime() - t0) / 1e9;
        Map<String, Double> rates = new java.util.LinkedHashMap<>();
        first.forEach((name, n) -> rates.put(name, (last.get(name) - n) / s));
        return rates;
    }

    private static Map<String, Long> totals(Receiver[] counted, Path lake, FaultDestinations.Search search) throws Exception {
        Map<String, Long> totals = new java.util.LinkedHashMap<>();
        totals.put("lake", lakeRowCount(lake));
        for (Receiver r : counted) totals.put(r.name, r.total.get());
        totals.put("search", search.count(INDEXES));
        return totals;
    }

    /** "lake 98 %, JMS 101 %, ...": each route's rate while {@code except} was down or slow, against its rate before. */
    private static String kept(Map<String, Double> before, Map<String, Double> during, String except) {
        List<String> out = new ArrayList<>();
        before.forEach((name, rate) -> {
            if (!name.equals(except)) out.add(String.format(Locale.ROOT, "%s %.0f %%", name, rate == 0 ? 0 : 100 * during.get(name) / rate));
        });
        return String.join(", ", out);
    }

    /** The receiver's name of a destination, for leaving it out of "the other routes". */
    private static String receiverOf(FaultDestinations.Outage outage, Receiver[] counted) {
        String n = outage.name().toLowerCase(Locale.ROOT);
        for (Receiver r : counted) if (n.startsWith(r.name)) return r.name;
        return "search";
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

    /** What each destination must have of one transaction: its rows, and (but the lake and the search index) its message. */
    private static List<String> expected(Receiver r, long seq) {
        List<String> keys = new ArrayList<>();
        for (String t : TABLES) keys.add(kind(t) + ":" + seq);
        if (!r.name.equals("lake") && !r.name.equals("search")) keys.add("message:" + seq);
        return keys;
    }

    /**
     * Waits until each destination has every delivery it should (or the drain timeout); returns every destination's
     * receipts: the counted receivers, then the lake and the search index as read at the end.
     */
    private static Receiver[] awaitDrained(Set<Long> written, Receiver[] counted, Path lake, FaultDestinations.Search search) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(DRAIN_TIMEOUT_MS);
        long hardDeadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(DRAIN_TIMEOUT_MS * 5);
        long fewest = Long.MAX_VALUE;
        long nextReport = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (true) {
            List<Receiver> all = new ArrayList<>(List.of(counted));
            all.add(readLake(lake));
            all.add(search.read(INDEXES));
            long missing = 0;
            Map<String, Long> missingBy = new java.util.TreeMap<>();
            for (long seq : written) {
                for (Receiver r : all) {
                    for (String k : expected(r, seq)) {
                        if (!r.has(k)) {
                            missing++;
                            missingBy.merge(r.name, 1L, Long::sum);
                        }
                    }
                }
            }
            if (missing > 0 && System.nanoTime() > nextReport) {
                Bench.say("still missing: %s", missingBy);
                nextReport = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
            }
            // the retry store's backlogs drain at their destinations' pace: waiting on while they shrink (up to 5 windows)
            if (missing < fewest) {
                if (fewest != Long.MAX_VALUE) deadline = Math.min(hardDeadline, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(DRAIN_TIMEOUT_MS));
                fewest = missing;
            }
            if (missing == 0 || System.nanoTime() > deadline) {
                if (missing > 0) Bench.say("%d deliveries are still missing (no fewer for %d s, or 5 times that in all)", missing, DRAIN_TIMEOUT_MS / 1000);
                return all.toArray(Receiver[]::new);
            }
            Thread.sleep(1000);
        }
    }

    record Counts(long written, long delivered, int lost, long duplicated, long notifySent, long notifyMissed) {
    }

    private static Counts count(Phase p, Set<Long> written, Receiver[] counted, Receiver[] all) {
        long events = 0, delivered = 0, duplicated = 0, notifySent = 0, notifyMissed = 0;
        int lost = 0;
        for (long seq = p.firstSeq; seq < p.endSeq; seq++) {
            if (!written.contains(seq)) continue;
            events += 3;
            for (Receiver r : all) {
                for (String k : expected(r, seq)) {
                    int n = r.count(k);
                    if (n == 0) {
                        lost++;
                    } else {
                        delivered++;
                        // the search index keeps one document per row: a repeat cannot be seen there
                        duplicated += n - 1;
                    }
                }
            }
            notifySent++;
            if (!counted[0].has("notify:" + seq)) notifyMissed++;
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

        /** Down = its port refuses connections. */
        FaultDestinations.Outage outage() {
            return FaultDestinations.outage("webhook", this::down, this::up);
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
        private final String jdbcUrl;
        private final Path work;
        private final Path routes;
        private final String[] props;
        private final int httpPort;
        private Process process;
        private int starts;

        /** @param jdbcUrl the PostgreSQL the router streams from (through a forwarder that can cut it off) */
        Router(Bench.Setup setup, Path work, Path routes, String jdbcUrl, String... props) throws IOException {
            this.setup = setup;
            this.jdbcUrl = jdbcUrl;
            this.work = work;
            this.routes = routes;
            this.props = props;
            this.httpPort = Procs.freePort();
        }

        void start() throws Exception {
            starts++;
            process = RouterConsumer.launch(setup.jar(), work, jdbcUrl, routes, "faults", httpPort, work.resolve("router-" + starts + ".log"),
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
        private final Connect db;
        private final AtomicLong next;
        private volatile boolean running;
        private Thread thread;

        /** Opens a connection to the database the writer writes to. */
        interface Connect {
            Connection open() throws SQLException;
        }

        /** @param firstSeq the first transaction's sequence number */
        Writer(Connect db, long firstSeq) {
            this.db = db;
            this.next = new AtomicLong(firstSeq);
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
                        c = db.open();
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
            try (Connection c = db.open(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT seq FROM bench.orders")) {
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
        route(routes, "faults-rows-and-messages-to-kafka", "pg:wal", "tables: " + String.join(",", TABLES) + "\n        messages: faults",
                "\"kamelet:kafka-sink?brokers={{pgrouter.bench.kafka}}&topic=" + FaultDestinations.TOPIC + "\"");
        route(routes, "faults-rows-and-messages-to-rabbitmq", "pg:wal", "tables: " + String.join(",", TABLES) + "\n        messages: faults",
                "\"kamelet:rabbitmq-sink?url={{pgrouter.bench.rabbitmq-url}}&exchange=" + FaultDestinations.QUEUE + "&routingKey=" + FaultDestinations.QUEUE + "\"");
        route(routes, "faults-rows-to-search", "pg:wal", "tables: " + String.join(",", TABLES), "\"kamelet:search-index-sink?urls={{pgrouter.bench.search-url}}\"");
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
