package io.pgrouter.packaged;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

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
import io.pgrouter.testing.Ports;
import io.pgrouter.testing.RouterProcess;
import io.pgrouter.testing.TcpForwarder;

/**
 * PostgreSQL 17 primary failover under a steady write load: the primary crashes, the standby (which synchronised the
 * router's failover slot) is promoted, and the router, pointed at it, streams on from the synchronised slot. Every row
 * in the new primary, written before or after the promotion, reaches the lake; duplicates are allowed and counted.
 * The router is pointed at the new primary in the two ways a user would: restarted with its address, or behind an
 * address that follows the primary (a virtual IP, a Kubernetes Service; here a TCP forwarder), where it reconnects by
 * itself. First, a slot made before the setting was turned on is changed to a failover slot.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PostgresFailoverIT {

    static final String PASSWORD = "pw-" + java.util.UUID.randomUUID();
    static final String TABLE = "shop.orders";
    static final List<FailoverPostgres> clusters = new java.util.ArrayList<>();
    static Path routes;
    static Map<String, String> config;
    static int httpPort;

    @BeforeAll
    static void start() throws Exception {
        routes = Files.createTempDirectory("routes");
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
        httpPort = Ports.free();
        config = Map.of(
                "pgrouter.postgres.user", "postgres",
                "pgrouter.postgres.password", PASSWORD,
                "pgrouter.routes.dir", routes.toString(),
                "pgrouter.wal.slot", "failover",
                "pgrouter.wal.publication", "failover",
                "pgrouter.wal.slot-failover", "true",
                "quarkus.http.port", String.valueOf(httpPort));
    }

    @AfterAll
    static void stop() throws Exception {
        for (FailoverPostgres pg : clusters) pg.close();
    }

    /** A primary and its standby with the table the writer fills, and an empty lake beside them. */
    static FailoverPostgres cluster() throws Exception {
        FailoverPostgres pg = new FailoverPostgres(Files.createTempDirectory("pgrouter-failover"), PASSWORD);
        clusters.add(pg);
        pg.start();
        try (Connection c = pg.primary(); Statement s = c.createStatement()) {
            s.execute("CREATE SCHEMA shop");
            s.execute("CREATE TABLE shop.orders (id bigint PRIMARY KEY, written_on text NOT NULL, at timestamptz NOT NULL DEFAULT now())");
        }
        return pg;
    }

    static RouterProcess router(String url, Path lake, Map<String, String> extra) throws Exception {
        Map<String, String> c = new HashMap<>(config);
        c.put("pgrouter.postgres.url", url);
        c.put("pgrouter.sinks.lake.root", lake.toString());
        c.putAll(extra);
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

    static List<Long> lakeIds(Path lake) {
        return Lake.rows(lake, TABLE).stream().map(r -> r.path("id").asLong()).toList();
    }

    static Set<Long> ids(Connection c) throws SQLException {
        Set<Long> ids = new HashSet<>();
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT id FROM " + TABLE)) {
            while (rs.next()) ids.add(rs.getLong(1));
        }
        return ids;
    }

    static String slotPosition(Connection c) throws SQLException {
        try (Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = 'failover'")) {
            return rs.next() ? rs.getString(1) : null;
        }
    }

    /** Whether the standby's copy of the router's slot is synchronised for good (synced, not temporary) up to the position. */
    static boolean standbyHasReached(FailoverPostgres pg, String lsn) throws SQLException {
        try (Connection c = pg.standby(); PreparedStatement ps = c.prepareStatement("SELECT confirmed_flush_lsn >= ?::pg_lsn FROM pg_replication_slots "
                + "WHERE slot_name = 'failover' AND synced AND NOT temporary AND failover")) {
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
        FailoverPostgres pg = cluster();
        try (Connection c = pg.primary(); Statement s = c.createStatement()) {
            s.execute("SELECT pg_create_logical_replication_slot('upgraded', 'pgoutput')");
        }
        try (RouterProcess router = router(pg.primaryUrl(), Files.createTempDirectory("lake"),
                Map.of("pgrouter.wal.slot", "upgraded", "pgrouter.wal.publication", "upgraded"))) {
            await().atMost(Duration.ofSeconds(90)).until(() -> readiness() == 200);
        }
        try (Connection c = pg.primary(); Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT failover FROM pg_replication_slots WHERE slot_name = 'upgraded'")) {
            assertThat(rs.next() && rs.getBoolean(1)).isTrue();
            s.execute("SELECT pg_drop_replication_slot('upgraded')");
        }
    }

    @Test
    @Order(2)
    void restartedOnThePromotedStandbyTheRouterStreamsOnFromItsSynchronisedSlot() throws Exception {
        FailoverPostgres pg = clusters.isEmpty() ? cluster() : clusters.get(0);
        Path lake = Files.createTempDirectory("lake");
        RouterProcess[] router = { router(pg.primaryUrl(), lake, Map.of()) };
        try {
            failover(pg, lake, "router restarted with the new primary's address", () -> {
                router[0].close();
                router[0] = router(pg.standbyUrl(), lake, Map.of());
            });
        } finally {
            router[0].close();
        }
    }

    @Test
    @Order(3)
    void behindAnAddressThatFollowsThePrimaryTheRouterReconnectsByItself() throws Exception {
        FailoverPostgres pg = cluster();
        Path lake = Files.createTempDirectory("lake");
        try (TcpForwarder primaryAddress = new TcpForwarder(pg.primaryPort());
                RouterProcess router = router("jdbc:postgresql://127.0.0.1:" + primaryAddress.port() + "/postgres", lake, Map.of())) {
            failover(pg, lake, "the router's address moved to the new primary", () -> primaryAddress.moveTo(pg.standbyPort()));
        }
    }

    interface Step {
        void run() throws Exception;
    }

    /**
     * The router streams from the primary under a steady writer; the primary crashes, the standby is promoted, the
     * router is pointed at it; every row in the new primary reaches the lake.
     */
    static void failover(FailoverPostgres pg, Path lake, String repointed, Step repoint) throws Exception {
        // ready: the slot exists, so every row written from now on is kept for the router
        await().atMost(Duration.ofSeconds(90)).until(() -> readiness() == 200);
        try (Writer writer = new Writer(pg.primaryUrl())) {
            // streaming from the primary, and the standby's copy of the slot follows it
            await().atMost(Duration.ofSeconds(60)).until(() -> lakeIds(lake).size() >= 200);
            String primaryConfirmed;
            try (Connection c = pg.primary()) {
                primaryConfirmed = slotPosition(c);
            }
            await().atMost(Duration.ofSeconds(60)).until(() -> standbyHasReached(pg, primaryConfirmed));

            // the writer keeps writing to the primary as it crashes: those writes fail, and a row whose commit was not
            // acknowledged may still exist on the standby (it counts as written if it does)
            pg.crashPrimary();
            long promoting = System.nanoTime();
            pg.promoteStandby();
            long promoted = System.nanoTime();
            writer.switchTo(pg.standbyUrl(), "promoted");
            long firstAfter = writer.next.get();
            repoint.run();
            long repointedAt = System.nanoTime();
            await().atMost(Duration.ofSeconds(90)).until(() -> lakeIds(lake).stream().anyMatch(id -> id >= firstAfter));
            long streaming = System.nanoTime();
            try (Connection c = pg.standby(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(
                    "SELECT synced AND failover FROM pg_replication_slots WHERE slot_name = 'failover'")) {
                assertThat(rs.next() && rs.getBoolean(1)).as("the router streams from the slot the standby synchronised, not a new one").isTrue();
            }
            await().atMost(Duration.ofSeconds(60)).until(() -> writer.acknowledged.stream().filter(id -> id >= firstAfter).count() >= 250);
            writer.close();

            Set<Long> written;
            try (Connection c = pg.standby()) {
                written = ids(c);
            }
            assertThat(written).as("every acknowledged commit survived the promotion (synchronous replication)").containsAll(writer.acknowledged);
            await().atMost(Duration.ofSeconds(60)).until(() -> new HashSet<>(lakeIds(lake)).containsAll(written));
            List<Long> delivered = lakeIds(lake);
            Set<Long> lost = written.stream().filter(id -> !delivered.contains(id)).collect(Collectors.toSet());
            long before = written.stream().filter(id -> id < firstAfter).count();
            long duplicates = delivered.size() - new HashSet<>(delivered).size();
            assertThat(lost).isEmpty();
            // the standby's WAL is the primary's, byte for byte: a change delivered again carries the same event id
            Map<Long, Set<String>> eventIds = Lake.rows(lake, TABLE).stream().collect(Collectors.groupingBy(r -> r.path("id").asLong(),
                    Collectors.mapping(r -> r.path("_event_id").asText(), Collectors.toSet())));
            assertThat(eventIds.values()).allSatisfy(ids -> assertThat(ids).hasSize(1));
            // ready again (a reconnect makes readiness DOWN until the slot is seen active once more)
            await().atMost(Duration.ofSeconds(30)).until(() -> readiness() == 200);
            System.out.printf("failover, %s: %d rows written (%d before the promotion, %d after), %d writes failed with no primary, %d events"
                    + " delivered, lost %d, duplicated %d; pg_promote %d ms; router pointed at the new primary in %d ms; from then to the first"
                    + " new row in the lake %d ms; promotion to it %d ms%n",
                    repointed, written.size(), before, written.size() - before, writer.failed.get(), delivered.size(), lost.size(), duplicates,
                    TimeUnit.NANOSECONDS.toMillis(promoted - promoting), TimeUnit.NANOSECONDS.toMillis(repointedAt - promoted),
                    TimeUnit.NANOSECONDS.toMillis(streaming - repointedAt), TimeUnit.NANOSECONDS.toMillis(streaming - promoting));
        }
    }
}
