package io.pgrouter.packaged;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.ServerSocket;
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
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import io.pgrouter.testing.FailoverPostgres;
import io.pgrouter.testing.Lake;
import io.pgrouter.testing.RouterProcess;

/**
 * PostgreSQL 17 primary failover under a steady write load: the primary crashes, the standby (which synchronised the
 * router's failover slot) is promoted, and the router, pointed at it, streams on from the synchronised slot. Every row
 * in the new primary, written before or after the promotion, reaches the lake; duplicates are allowed and counted.
 * First, on the primary, a slot made before the setting was turned on is changed to a failover slot.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PostgresFailoverIT {

    static final String PASSWORD = "pw-" + java.util.UUID.randomUUID();
    static final String TABLE = "shop.orders";
    static FailoverPostgres pg;
    static Path lake;
    static Map<String, String> config;
    static int httpPort;

    @BeforeAll
    static void start() throws Exception {
        Path work = Files.createTempDirectory("pgrouter-failover");
        pg = new FailoverPostgres(work, PASSWORD).start();
        try (Connection c = pg.primary(); Statement s = c.createStatement()) {
            s.execute("CREATE SCHEMA shop");
            s.execute("CREATE TABLE shop.orders (id bigint PRIMARY KEY, written_on text NOT NULL, at timestamptz NOT NULL DEFAULT now())");
        }
        lake = Files.createDirectories(work.resolve("lake"));
        Path routes = Files.createDirectories(work.resolve("routes"));
        Files.writeString(routes.resolve("wal-orders-to-lake.yaml"), """
                - route:
                    id: wal-orders-to-lake
                    from:
                      uri: pg:wal
                      parameters:
                        tables: shop.orders
                      steps:
                        - to: "kamelet:datalake-sink?target={{pgrouter.sinks.lake.root}}"
                """);
        try (ServerSocket s = new ServerSocket(0)) {
            httpPort = s.getLocalPort();
        }
        config = new HashMap<>(Map.of(
                "pgrouter.postgres.user", "postgres",
                "pgrouter.postgres.password", PASSWORD,
                "pgrouter.routes.dir", routes.toString(),
                "pgrouter.sinks.lake.root", lake.toString(),
                "pgrouter.wal.slot", "failover",
                "pgrouter.wal.publication", "failover",
                "pgrouter.wal.slot-failover", "true",
                "quarkus.http.port", String.valueOf(httpPort)));
    }

    @AfterAll
    static void stop() throws Exception {
        if (pg != null) pg.close();
    }

    static RouterProcess router(String url) throws Exception {
        Map<String, String> c = new HashMap<>(config);
        c.put("pgrouter.postgres.url", url);
        return RouterProcess.start(c);
    }

    static int readiness() {
        try {
            return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + "/q/health/ready")).build(),
                    HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (Exception e) {
            return -1;
        }
    }

    static List<Long> lakeIds() {
        return Lake.rows(lake, TABLE).stream().map(r -> r.path("id").asLong()).toList();
    }

    static Set<Long> ids(Connection c) throws SQLException {
        Set<Long> ids = new HashSet<>();
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT id FROM " + TABLE)) {
            while (rs.next()) ids.add(rs.getLong(1));
        }
        return ids;
    }

    /** The standby's copy of the router's slot, once PostgreSQL synchronised it for good (synced, not temporary), else null. */
    static String syncedPosition() throws SQLException {
        try (Connection c = pg.standby(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(
                "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = 'failover' AND synced AND NOT temporary AND failover")) {
            return rs.next() ? rs.getString(1) : null;
        }
    }

    static boolean standbyHasReached(String lsn) throws SQLException {
        try (Connection c = pg.standby(); PreparedStatement ps = c.prepareStatement(
                "SELECT confirmed_flush_lsn >= ?::pg_lsn FROM pg_replication_slots WHERE slot_name = 'failover' AND synced AND NOT temporary")) {
            ps.setString(1, lsn);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() && rs.getBoolean(1);
            }
        }
    }

    /** A steady writer: one committed insert every 20 ms to whichever server is the primary, each id acknowledged or not. */
    static final class Writer implements AutoCloseable {
        final AtomicLong next = new AtomicLong(1);
        final Set<Long> acknowledged = new ConcurrentSkipListSet<>();
        final AtomicLong failed = new AtomicLong();
        volatile String url, phase;
        private Connection connection;
        private String connectedTo;
        private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();

        Writer(String url) {
            this.url = url;
            this.phase = "primary";
            timer.scheduleAtFixedRate(this::insertOne, 0, 20, TimeUnit.MILLISECONDS);
        }

        void switchTo(String newUrl, String newPhase) {
            phase = newPhase;
            url = newUrl;
        }

        private void insertOne() {
            String target = url;
            if (target == null) return;
            long id = next.getAndIncrement();
            try {
                if (connection == null || !target.equals(connectedTo)) {
                    if (connection != null) connection.close();
                    connection = java.sql.DriverManager.getConnection(target + "?connectTimeout=2&socketTimeout=10", "postgres", PASSWORD);
                    connectedTo = target;
                }
                try (PreparedStatement ps = connection.prepareStatement("INSERT INTO " + TABLE + " (id, written_on) VALUES (?, ?)")) {
                    ps.setLong(1, id);
                    ps.setString(2, phase);
                    ps.executeUpdate();
                }
                acknowledged.add(id);
            } catch (SQLException e) {
                failed.incrementAndGet(); // the primary is gone: the row may or may not have been committed
                try {
                    if (connection != null) connection.close();
                } catch (SQLException ignored) {
                    // already broken
                }
                connection = null;
            }
        }

        @Override
        public void close() throws Exception {
            timer.shutdown();
            timer.awaitTermination(30, TimeUnit.SECONDS);
            if (connection != null) connection.close();
        }
    }

    @Test
    @Order(1)
    void aSlotMadeWithoutFailoverIsChangedToAFailoverSlot() throws Exception {
        try (Connection c = pg.primary(); Statement s = c.createStatement()) {
            s.execute("SELECT pg_create_logical_replication_slot('upgraded', 'pgoutput')");
        }
        Map<String, String> c = new HashMap<>(config);
        c.put("pgrouter.postgres.url", pg.primaryUrl());
        c.put("pgrouter.wal.slot", "upgraded");
        c.put("pgrouter.wal.publication", "upgraded");
        try (RouterProcess router = RouterProcess.start(c)) {
            await().atMost(Duration.ofSeconds(90)).until(() -> readiness() == 200);
        }
        try (Connection conn = pg.primary(); Statement s = conn.createStatement();
                ResultSet rs = s.executeQuery("SELECT failover FROM pg_replication_slots WHERE slot_name = 'upgraded'")) {
            assertThat(rs.next() && rs.getBoolean(1)).isTrue();
            s.execute("SELECT pg_drop_replication_slot('upgraded')");
        }
    }

    @Test
    @Order(2)
    void afterThePrimaryFailsTheRouterStreamsOnFromThePromotedStandbysSynchronisedSlot() throws Exception {
        RouterProcess router = router(pg.primaryUrl());
        Writer writer = null;
        try {
            await().atMost(Duration.ofSeconds(90)).until(() -> readiness() == 200);
            writer = new Writer(pg.primaryUrl());
            Writer w = writer;
            // streaming from the primary, and the standby's copy of the slot follows it
            await().atMost(Duration.ofSeconds(60)).until(() -> lakeIds().size() >= 200 && syncedPosition() != null);
            String primaryConfirmed;
            try (Connection c = pg.primary(); Statement s = c.createStatement();
                    ResultSet rs = s.executeQuery("SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = 'failover'")) {
                rs.next();
                primaryConfirmed = rs.getString(1);
            }
            await().atMost(Duration.ofSeconds(60)).until(() -> standbyHasReached(primaryConfirmed));

            // the writer keeps writing to the primary as it crashes: those writes fail, and a row whose commit was not
            // acknowledged may still exist on the standby (it counts as written if it does)
            pg.crashPrimary();
            long promoting = System.nanoTime();
            pg.promoteStandby();
            long promoted = System.nanoTime();
            writer.switchTo(pg.standbyUrl(), "promoted");
            long firstAfter = writer.next.get();

            router.close(); // the operator restarts the router with the new primary's address
            long restarting = System.nanoTime();
            router = router(pg.standbyUrl());
            await().atMost(Duration.ofSeconds(90)).until(() -> lakeIds().stream().anyMatch(id -> id >= firstAfter));
            long streaming = System.nanoTime();
            try (Connection c = pg.standby(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(
                    "SELECT synced AND failover FROM pg_replication_slots WHERE slot_name = 'failover'")) {
                assertThat(rs.next() && rs.getBoolean(1)).as("the router streams from the slot the standby synchronised, not a new one").isTrue();
            }
            await().atMost(Duration.ofSeconds(60)).until(() -> w.acknowledged.stream().filter(id -> id >= firstAfter).count() >= 250);
            writer.close();

            Set<Long> written;
            try (Connection c = pg.standby()) {
                written = ids(c);
            }
            assertThat(written).as("every acknowledged commit survived the promotion (synchronous replication)").containsAll(writer.acknowledged);
            await().atMost(Duration.ofSeconds(60)).until(() -> new HashSet<>(lakeIds()).containsAll(written));
            List<Long> delivered = lakeIds();
            Set<Long> lost = written.stream().filter(id -> !delivered.contains(id)).collect(Collectors.toSet());
            long before = written.stream().filter(id -> id < firstAfter).count();
            long duplicates = delivered.size() - new HashSet<>(delivered).size();
            assertThat(lost).isEmpty();
            // the standby's WAL is the primary's, byte for byte: a change delivered again carries the same event id
            Map<Long, Set<String>> eventIds = Lake.rows(lake, TABLE).stream().collect(Collectors.groupingBy(r -> r.path("id").asLong(),
                    Collectors.mapping(r -> r.path("_event_id").asText(), Collectors.toSet())));
            assertThat(eventIds.values()).allSatisfy(ids -> assertThat(ids).hasSize(1));
            assertThat(readiness()).isEqualTo(200);
            System.out.printf("failover: %d rows written (%d before the promotion, %d after), %d writes failed with no primary, %d events"
                    + " delivered, lost %d, duplicated %d; pg_promote %d ms; old router stopped in %d ms; new router start to the first new row"
                    + " in the lake %d ms; promotion to it %d ms%n",
                    written.size(), before, written.size() - before, writer.failed.get(), delivered.size(), lost.size(), duplicates,
                    TimeUnit.NANOSECONDS.toMillis(promoted - promoting), TimeUnit.NANOSECONDS.toMillis(restarting - promoted),
                    TimeUnit.NANOSECONDS.toMillis(streaming - restarting), TimeUnit.NANOSECONDS.toMillis(streaming - promoting));
        } finally {
            if (writer != null) writer.close();
            router.close();
        }
    }
}
