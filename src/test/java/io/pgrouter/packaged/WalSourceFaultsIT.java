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
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.pgrouter.testing.Lake;
import io.pgrouter.testing.RouterProcess;
import io.pgrouter.testing.Sql;
import io.pgrouter.testing.TestServers;

/** What an operator sees when the WAL source cannot work: a clear start-up error, readiness DOWN with the reason, or the WAL retention guard. */
class WalSourceFaultsIT {

    static final TestServers servers = new TestServers();
    static Map<String, String> config;

    @BeforeAll
    static void startServers() {
        config = new HashMap<>(servers.start());
    }

    @AfterAll
    static void stopServers() {
        servers.stop();
    }

    static Map<String, String> with(Map<String, String> extra) {
        Map<String, String> c = new HashMap<>(config);
        c.putAll(extra);
        return c;
    }

    static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    @Test
    void aRoleWithoutReplicationFailsStartUpNamingThePrivilege() throws Exception {
        Sql.exec("DO $$ BEGIN CREATE ROLE weak LOGIN PASSWORD 'weak-pw'; EXCEPTION WHEN duplicate_object THEN NULL; END $$",
                "GRANT USAGE ON SCHEMA marketplace TO weak", "GRANT CREATE ON DATABASE postgres TO weak", "GRANT SELECT ON ALL TABLES IN SCHEMA marketplace TO weak");
        // its own schema for the router's tables, which it may create: what stops it is the missing REPLICATION only
        try (RouterProcess router = RouterProcess.start(with(Map.of("pgrouter.postgres.user", "weak", "pgrouter.postgres.password", "weak-pw", "pgrouter.wal.slot", "weak",
                "pgrouter.wal.publication", "weak", "pgrouter.postgres.schema", "pgrouter_weak", "quarkus.http.port", "0")))) {
            assertThat(router.exitCode(90)).isNotZero();
            assertThat(router.output()).contains("role weak lacks the REPLICATION attribute needed to create and stream from slot weak: ALTER ROLE weak REPLICATION;");
        }
    }

    @Test
    void slotFailoverOnAPostgresOlderThan17FailsStartUpNamingTheVersion() throws Exception {
        try (RouterProcess router = RouterProcess.start(with(Map.of("pgrouter.wal.slot", "old_pg", "pgrouter.wal.publication", "old_pg",
                "pgrouter.wal.slot-failover", "true", "quarkus.http.port", "0")))) {
            assertThat(router.exitCode(90)).isNotZero();
            assertThat(router.output()).contains("pgrouter.wal.slot-failover=true needs PostgreSQL 17 or newer")
                    .contains("or set pgrouter.wal.slot-failover=false");
        }
        assertThat(Sql.count("SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'old_pg'")).isZero();
    }

    @Test
    void aStoredOffsetTheSlotNoLongerHasMakesReadinessDownWithTheReason() throws Exception {
        int port = freePort();
        Map<String, String> c = with(Map.of("pgrouter.wal.slot", "stale", "pgrouter.wal.publication", "stale", "quarkus.http.port", String.valueOf(port)));
        try (RouterProcess first = RouterProcess.start(c)) {
            await().atMost(Duration.ofSeconds(60)).until(() -> readiness(port).statusCode() == 200);
            Sql.exec("INSERT INTO marketplace.products (seller_id, category, title, price) VALUES (1, 'books', 'stale-1', 1)");
            await().atMost(Duration.ofSeconds(30)).until(() -> Lake.rows("marketplace.products").stream()
                    .anyMatch(e -> "stale-1".equals(e.path("title").asText())));
            // let the offset store flush the position past stale-1 (pgrouter.wal.offset-flush-interval-ms=1000)
            await().pollDelay(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(4)).until(() -> true);
        }
        Sql.exec("INSERT INTO marketplace.products (seller_id, category, title, price) VALUES (1, 'books', 'stale-2', 1)");
        // someone moves the slot past what the router stored: the changes in between are gone for it
        Sql.exec("SELECT pg_replication_slot_advance('stale', pg_current_wal_lsn())");
        Sql.exec("INSERT INTO marketplace.products (seller_id, category, title, price) VALUES (1, 'books', 'stale-3', 1)");
        try (RouterProcess second = RouterProcess.start(c)) {
            await().atMost(Duration.ofSeconds(60)).until(() -> readiness(port).statusCode() == 503
                    && readiness(port).body().contains("stored offset"));
            assertThat(readiness(port).body()).contains("slot stale has confirmed up to").contains("cannot be delivered");
            assertThat(second.isAlive()).isTrue();
        }
    }

    static boolean lakeHas(java.nio.file.Path root, String text) throws Exception {
        if (!java.nio.file.Files.isDirectory(root)) return false;
        try (var files = java.nio.file.Files.walk(root)) {
            for (var f : (Iterable<java.nio.file.Path>) files::iterator) {
                if (f.toString().endsWith(".jsonl") && java.nio.file.Files.readString(f).contains(text)) return true;
            }
        }
        return false;
    }

    @Test
    void twoRoutersOnDifferentSlotsKeepTheirOwnStoredPositions() throws Exception {
        // Debezium's JDBC offset store rewrites its whole table at each save: in one shared table, B would put A's
        // position back to what it loaded at its start, and A, restarted, would find its slot past its stored position
        java.nio.file.Path lakeA = java.nio.file.Files.createTempDirectory("lake-a"), lakeB = java.nio.file.Files.createTempDirectory("lake-b");
        int portA = freePort(), portB = freePort();
        Map<String, String> a = with(Map.of("pgrouter.wal.slot", "two_a", "pgrouter.wal.publication", "two_a", "quarkus.http.port",
                String.valueOf(portA), "pgrouter.sinks.lake.root", lakeA.toString()));
        Map<String, String> b = with(Map.of("pgrouter.wal.slot", "two_b", "pgrouter.wal.publication", "two_b", "quarkus.http.port",
                String.valueOf(portB), "pgrouter.sinks.lake.root", lakeB.toString()));
        RouterProcess routerA = RouterProcess.start(a);
        try {
            await().atMost(Duration.ofSeconds(60)).until(() -> readiness(portA).statusCode() == 200);
            Sql.exec("INSERT INTO marketplace.products (seller_id, category, title, price) VALUES (1, 'books', 'two-0', 1)");
            await().atMost(Duration.ofSeconds(30)).until(() -> lakeHas(lakeA, "two-0"));
            await().pollDelay(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(4)).until(() -> true); // A stores its position
            try (RouterProcess routerB = RouterProcess.start(b)) {
                await().atMost(Duration.ofSeconds(60)).until(() -> readiness(portB).statusCode() == 200);
                Sql.exec("INSERT INTO marketplace.products (seller_id, category, title, price) VALUES (1, 'books', 'two-1', 1)");
                await().atMost(Duration.ofSeconds(30)).until(() -> lakeHas(lakeA, "two-1") && lakeHas(lakeB, "two-1"));
                await().pollDelay(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(4)).until(() -> true);
                routerA.close(); // A stores its position past two-1 and confirms it to its slot
                Sql.exec("INSERT INTO marketplace.products (seller_id, category, title, price) VALUES (1, 'books', 'two-2', 1)");
                await().atMost(Duration.ofSeconds(30)).until(() -> lakeHas(lakeB, "two-2"));
                await().pollDelay(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(4)).until(() -> true); // B stores its position
            }
            Sql.exec("INSERT INTO marketplace.products (seller_id, category, title, price) VALUES (1, 'books', 'two-3', 1)");
            routerA = RouterProcess.start(a);
            RouterProcess restarted = routerA;
            await().atMost(Duration.ofSeconds(60)).until(() -> lakeHas(lakeA, "two-2") && lakeHas(lakeA, "two-3"));
            assertThat(readiness(portA).statusCode()).as(restarted.output()).isEqualTo(200);
            assertThat(Sql.count("SELECT count(*) FROM pgrouter.debezium_offsets_two_a")).isEqualTo(1);
        } finally {
            routerA.close();
        }
    }

    @Test
    void aPostgresRestartIsOneWarningAndReadinessLogsItsChangesNotEachProbe() throws Exception {
        int port = freePort();
        try (RouterProcess router = RouterProcess.start(with(Map.of("pgrouter.wal.slot", "restart", "pgrouter.wal.publication", "restart",
                "quarkus.http.port", String.valueOf(port))))) {
            await().atMost(Duration.ofSeconds(60)).until(() -> readiness(port).statusCode() == 200);
            int before = router.output().length();
            TestServers.db.stop();
            await().atMost(Duration.ofSeconds(30)).until(() -> readiness(port).statusCode() == 503);
            int probing = router.output().length();
            for (int probe = 0; probe < 10; probe++) assertThat(readiness(port).statusCode()).isEqualTo(503);
            // ten probes while DOWN add nothing to the log (the change was logged once, at the first)
            assertThat(router.output().substring(probing)).doesNotContain("readiness").doesNotContain("\"status\"");
            TestServers.db.start();
            await().atMost(Duration.ofSeconds(60)).until(() -> readiness(port).statusCode() == 200);
            Sql.exec("INSERT INTO marketplace.products (seller_id, category, title, price) VALUES (1, 'books', 'after-restart', 1)");
            await().atMost(Duration.ofSeconds(30)).until(() -> Lake.rows("marketplace.products").stream()
                    .anyMatch(e -> "after-restart".equals(e.path("title").asText())));
            String during = router.output().substring(before);
            assertThat(during).as(router.output()).doesNotContain("Caused by").doesNotContainPattern("(?m)^\\s+at [\\w$.]+\\(")
                    .doesNotContain(" ERROR ").doesNotContain("\"status\"");
            // one WARN from the WAL source: Debezium's error when it notices the lost connection, or, when PostgreSQL is
            // back before it notices, the watchdog's line about the slot without a consumer (it then restarts the engine)
            assertThat(during.lines().filter(l -> l.contains(" WARN ") && l.contains("[io.pgrouter.source.wal.WalSource]"))).as(during).hasSize(1);
            assertThat(during.lines().filter(l -> l.contains("readiness DOWN"))).as(during).isNotEmpty();
            assertThat(during.lines().filter(l -> l.contains("readiness UP"))).as(during).isNotEmpty();
            // the retry worker and the replayer fail every round while PostgreSQL is away: said when it starts or changes, and when it is over
            assertThat(during.lines().filter(l -> l.contains("retrying waiting events"))).as(during).hasSizeLessThanOrEqualTo(3);
            assertThat(during.lines().filter(l -> l.contains("replaying dead letters"))).as(during).hasSizeLessThanOrEqualTo(3);
        }
    }

    @Test
    void aFastShutdownOfPostgresWhileTheRouterIsBusyLosesNothing() throws Exception {
        int port = freePort();
        try (RouterProcess router = RouterProcess.start(with(Map.of("pgrouter.wal.slot", "fast", "pgrouter.wal.publication", "fast",
                "quarkus.http.port", String.valueOf(port))))) {
            await().atMost(Duration.ofSeconds(60)).until(() -> readiness(port).statusCode() == 200);
            Sql.exec("INSERT INTO marketplace.products (seller_id, category, title, price) VALUES (1, 'books', 'before-fast', 1)");
            await().atMost(Duration.ofSeconds(60)).until(() -> fastRows() == 1);
            // the router is busy streaming when the shutdown starts: 20 000 rows in one transaction
            Sql.exec("INSERT INTO marketplace.products (seller_id, category, title, price) SELECT 1, 'books', 'busy-fast-' || g, 1 "
                    + "FROM generate_series(1, 20000) g");
            Path pidFile = TestServers.db.dataDir().resolve("postmaster.pid");
            ProcessHandle postmaster = ProcessHandle.of(Long.parseLong(Files.readAllLines(pidFile).get(0).trim())).orElseThrow();
            // pg_ctl stop's default: a fast shutdown, which waits for each logical walsender's client to confirm the last
            // WAL (the router stores its position in the database that is stopping, so it closes its replication
            // connection instead) and for every half-made connection (the LISTEN connection's reconnects must not leave
            // one). It took 62-80 s before; how long it takes is measured by bench/faults.sh; here: no hang, nothing lost
            new ProcessBuilder("kill", "-INT", Long.toString(postmaster.pid())).inheritIO().start().waitFor();
            await().atMost(Duration.ofSeconds(30)).until(() -> !postmaster.isAlive());
            TestServers.db.stop();
            TestServers.db.start();
            await().atMost(Duration.ofSeconds(60)).until(() -> readiness(port).statusCode() == 200);
            Sql.exec("INSERT INTO marketplace.products (seller_id, category, title, price) VALUES (1, 'books', 'after-fast', 1)");
            await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofSeconds(1)).until(() -> fastRows() == 20_002);
        }
    }

    /** The distinct rows of this test the lake has. */
    private static long fastRows() throws Exception {
        return Lake.rows("marketplace.products").stream().map(e -> e.path("title").asText())
                .filter(t -> t.equals("before-fast") || t.startsWith("busy-fast-") || t.equals("after-fast")).distinct().count();
    }

    @Test
    void anEventThatIsNeitherDeliveredNorDeadLetteredHoldsThePositionUntilItCanBe() throws Exception {
        java.nio.file.Path routes = java.nio.file.Files.createTempDirectory("routes");
        java.nio.file.Files.writeString(routes.resolve("wal-fragile-to-nowhere.yaml"), """
                - route:
                    id: wal-fragile-to-nowhere
                    from:
                      uri: pg:wal
                      parameters:
                        tables: test.fragile
                      steps:
                        - to: "kamelet:webhook-sink?url={{pgrouter.test.unreachable-url}}&timeoutMs=1000&retries=0&retryBudgetMs=0"
                """);
        int port = freePort();
        Map<String, String> c = with(Map.of("pgrouter.wal.slot", "held", "pgrouter.wal.publication", "held",
                "pgrouter.routes.dir", routes.toString(), "quarkus.http.port", String.valueOf(port), "pgrouter.wal.max-restart-backoff-ms", "1000"));
        try (RouterProcess router = RouterProcess.start(c)) {
            await().atMost(Duration.ofSeconds(60)).until(() -> readiness(port).statusCode() == 200);
            // the sink fails, and so does the dead-letter store
            Sql.exec("ALTER TABLE pgrouter.dead_letters RENAME TO dead_letters_away");
            Sql.exec("INSERT INTO test.fragile VALUES (100, 'held')");
            await().atMost(Duration.ofSeconds(30)).until(() -> readiness(port).statusCode() == 503
                    && readiness(port).body().contains("dead_letters"));
            Sql.exec("ALTER TABLE pgrouter.dead_letters_away RENAME TO dead_letters");
            // the engine restarts from the held position: the event is dead-lettered now, and the source is ready again
            await().atMost(Duration.ofSeconds(60)).until(() -> Sql.count(
                    "SELECT count(*) FROM pgrouter.dead_letters WHERE route_id = 'wal-fragile-to-nowhere' AND event->>'subject' = '100'") >= 1);
            await().atMost(Duration.ofSeconds(30)).until(() -> readiness(port).statusCode() == 200);
        }
    }

    static HttpResponse<String> readiness(int port) throws Exception {
        try {
            return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/q/health/ready")).build(),
                    HttpResponse.BodyHandlers.ofString());
        } catch (java.io.IOException e) {
            return new HttpResponse<>() {
                public int statusCode() { return 0; }
                public HttpRequest request() { return null; }
                public java.util.Optional<HttpResponse<String>> previousResponse() { return java.util.Optional.empty(); }
                public java.net.http.HttpHeaders headers() { return null; }
                public String body() { return ""; }
                public java.util.Optional<javax.net.ssl.SSLSession> sslSession() { return java.util.Optional.empty(); }
                public URI uri() { return null; }
                public HttpClient.Version version() { return HttpClient.Version.HTTP_1_1; }
            };
        }
    }
    // ---- the WAL retention guard (docs/operations.md#wal-retention)

    /** A routes folder with one route from marketplace.products to {@code to}. */
    static java.nio.file.Path routes(String id, String to) throws Exception {
        java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("routes");
        java.nio.file.Files.writeString(dir.resolve(id + ".yaml"), String.join("\n",
                "- route:",
                "    id: " + id,
                "    from:",
                "      uri: pg:wal",
                "      parameters:",
                "        tables: marketplace.products",
                "      steps:",
                "        - to: \"" + to + "\"",
                ""));
        return dir;
    }

    static Map<String, String> withSlot(String slot, java.nio.file.Path routes, int port, String... more) {
        Map<String, String> c = new HashMap<>(config);
        c.putAll(Map.of("pgrouter.wal.slot", slot, "pgrouter.wal.publication", slot, "pgrouter.routes.dir", routes.toString(),
                "quarkus.http.port", String.valueOf(port)));
        for (int i = 0; i < more.length; i += 2) c.put(more[i], more[i + 1]);
        return c;
    }

    static String metrics(int port) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/q/metrics")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
    }

    @Test
    void aSinkThatDoesNotAnswerHoldingTheSlotBackIsDegradedWithItsRouteAndOkAgainOnceItAnswers() throws Exception {
        heldBackByAReceiverThatDoesNotAnswer("retention", "above pgrouter.wal.max-lag-bytes = 1.0 MiB", "pgrouter.wal.max-lag-bytes", String.valueOf(1024 * 1024));
    }

    @Test
    void theTimeBudgetOfTheRetentionGuardSaysHowLongTheSlotHasNotMoved() throws Exception {
        // the byte limit off: only the time budget (at least two heartbeats, 10 s apart by default) can say DEGRADED
        heldBackByAReceiverThatDoesNotAnswer("retention_time", "pgrouter.wal.max-lag-seconds = 20", "pgrouter.wal.max-lag-bytes", "0",
                "pgrouter.wal.max-lag-seconds", "20");
    }

    @Test
    void aTimeBudgetShorterThanTwoHeartbeatsFailsStartUpNamingTheSettings() throws Exception {
        int port = freePort();
        try (RouterProcess router = RouterProcess.start(with(Map.of("pgrouter.wal.slot", "budget", "pgrouter.wal.publication", "budget",
                "pgrouter.wal.max-lag-seconds", "5", "quarkus.http.port", String.valueOf(port))))) {
            assertThat(router.exitCode(90)).isNotZero();
            assertThat(router.output()).contains("pgrouter.wal.max-lag-seconds = 5 is shorter than two heartbeats (pgrouter.wal.heartbeat-interval-ms = 10000)")
                    .contains("set it to at least 20");
        }
    }

    @Test
    void withTheParkPolicyASlowDestinationsEventsGoToTheRetryStoreAndTheSlotMovesOn() throws Exception {
        // a receiver that takes a second for each request: the batch of 300 rows waits for it (tens of seconds)
        java.util.Set<String> received = java.util.concurrent.ConcurrentHashMap.newKeySet();
        com.sun.net.httpserver.HttpServer receiver = com.sun.net.httpserver.HttpServer.create(
                new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), 0), 64);
        receiver.setExecutor(java.util.concurrent.Executors.newFixedThreadPool(16));
        receiver.createContext("/", exchange -> {
            try (exchange) {
                String body = new String(exchange.getRequestBody().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
                Thread.sleep(1000);
                java.util.regex.Matcher title = java.util.regex.Pattern.compile("\"title\":\"(park-\\d+)\"").matcher(body);
                if (title.find()) received.add(title.group(1));
                exchange.sendResponseHeaders(204, -1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        receiver.start();
        int port = freePort();
        java.nio.file.Path routes = routes("park-to-slow-webhook", "kamelet:webhook-sink?url=http://127.0.0.1:" + receiver.getAddress().getPort() + "/hook");
        try (RouterProcess router = RouterProcess.start(withSlot("park", routes, port, "pgrouter.wal.max-lag-bytes", String.valueOf(1024 * 1024),
                "pgrouter.wal.on-max-lag", "park", "pgrouter.wal.heartbeat-interval-ms", "2000"))) {
            await().atMost(Duration.ofSeconds(90)).until(() -> readiness(port).body().contains("ok: slot park"));
            Sql.exec("INSERT INTO marketplace.products (seller_id, category, title, price) SELECT 1, 'books', 'park-' || g, 1 FROM generate_series(1, 300) g");
            Sql.exec("CREATE TABLE IF NOT EXISTS public.retention_filler (t text)",
                    "INSERT INTO public.retention_filler SELECT repeat('x', 1000) FROM generate_series(1, 4000)");
            // above the limit while the batch waits for the receiver: its new events are parked, and the slot moves on
            await().atMost(Duration.ofSeconds(60)).until(() -> readiness(port).body().contains("go to the retry store (pgrouter.wal.on-max-lag=park)"));
            await().atMost(Duration.ofSeconds(60)).until(() -> Long.parseLong(Sql.text("SELECT (pg_current_wal_lsn() - confirmed_flush_lsn)::bigint::text "
                    + "FROM pg_replication_slots WHERE slot_name = 'park'")) < 1024 * 1024);
            assertThat(received).as("the slot moved on before the receiver had every row").hasSizeLessThan(300);
            // the retry worker sends the parked rows at the receiver's pace; new events go directly again
            await().atMost(Duration.ofSeconds(120)).until(() -> received.size() == 300);
            await().atMost(Duration.ofSeconds(30)).until(() -> readiness(port).body().contains("ok: slot park"));
        } finally {
            receiver.stop(0);
            Sql.exec("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = 'park' AND NOT active");
        }
    }

    /**
     * A receiver that answers only once released holds the slot back; readiness data says DEGRADED with {@code limit}
     * and names the route, the gauge is 1; once it answers, ok again.
     */
    private void heldBackByAReceiverThatDoesNotAnswer(String slot, String limit, String... guard) throws Exception {
        // a receiver that answers only once released: the batch with the first product waits for it
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        java.util.List<String> received = new java.util.concurrent.CopyOnWriteArrayList<>();
        com.sun.net.httpserver.HttpServer receiver = com.sun.net.httpserver.HttpServer.create(
                new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), 0), 16);
        receiver.createContext("/", exchange -> {
            try (exchange) {
                received.add(new String(exchange.getRequestBody().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8));
                release.await(120, java.util.concurrent.TimeUnit.SECONDS);
                exchange.sendResponseHeaders(204, -1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        receiver.start();
        int port = freePort();
        java.nio.file.Path routes = routes("retention-to-slow-webhook",
                "kamelet:webhook-sink?url=http://127.0.0.1:" + receiver.getAddress().getPort() + "/hook&timeoutMs=120000&retries=0");
        try (RouterProcess router = RouterProcess.start(withSlot(slot, routes, port, guard))) {
            await().atMost(Duration.ofSeconds(90)).until(() -> readiness(port).body().contains("ok: slot " + slot));
            Sql.exec("INSERT INTO marketplace.products (seller_id, category, title, price) VALUES (1, 'books', 'held-back', 1)");
            await().atMost(Duration.ofSeconds(30)).until(() -> received.stream().anyMatch(b -> b.contains("held-back")));
            // 4 MB of WAL on a table no route reads, while the slot waits for the receiver
            Sql.exec("CREATE TABLE IF NOT EXISTS public.retention_filler (t text)",
                    "INSERT INTO public.retention_filler SELECT repeat('x', 1000) FROM generate_series(1, 4000)");
            // the guard looks every 2 s; a batch counts as slow once it has been routing for longer than that
            await().atMost(Duration.ofSeconds(60)).until(() -> readiness(port).body().contains("now in route retention-to-slow-webhook"));
            HttpResponse<String> degraded = readiness(port);
            assertThat(degraded.statusCode()).as("readiness stays UP: restarting would not help").isEqualTo(200);
            await().atMost(Duration.ofSeconds(60)).until(() -> readiness(port).body().contains("DEGRADED: slot " + slot));
            assertThat(readiness(port).body()).contains(limit).contains("now in route retention-to-slow-webhook");
            assertThat(metrics(port)).contains("pgrouter_wal_slot_lag_over_limit{slot=\"" + slot + "\"} 1.0");

            release.countDown();
            // the batch ends, the position is stored and confirmed (the heartbeat moves it past the filler)
            await().atMost(Duration.ofSeconds(60)).until(() -> readiness(port).body().contains("ok: slot " + slot));
            assertThat(metrics(port)).contains("pgrouter_wal_slot_lag_over_limit{slot=\"" + slot + "\"} 0.0");
            // (the time budget is ok as soon as the slot moves; the heartbeat then takes it past the filler)
            await().atMost(Duration.ofSeconds(60)).until(() -> Long.parseLong(Sql.text("SELECT (pg_current_wal_lsn() - confirmed_flush_lsn)::bigint::text "
                    + "FROM pg_replication_slots WHERE slot_name = '" + slot + "'")) < 1024 * 1024);
        } finally {
            release.countDown();
            receiver.stop(0);
            Sql.exec("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '" + slot + "' AND NOT active");
        }
    }

    @Test
    void aSlotPostgresInvalidatedIsReportedWithTheSlotAndTheFixAndTheFixWorks() throws Exception {
        Sql.exec("SELECT pg_create_logical_replication_slot('lost', 'pgoutput')");
        Sql.exec("ALTER SYSTEM SET max_slot_wal_keep_size = '1MB'", "SELECT pg_reload_conf()");
        try {
            Sql.exec("CREATE TABLE IF NOT EXISTS public.lost_filler (t text)");
            // PostgreSQL removes a slot's WAL at a checkpoint once it is more than max_slot_wal_keep_size behind
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).until(() -> {
                Sql.exec("INSERT INTO public.lost_filler SELECT repeat('x', 1000) FROM generate_series(1, 2000)", "SELECT pg_switch_wal()", "CHECKPOINT");
                return "lost".equals(Sql.text("SELECT wal_status FROM pg_replication_slots WHERE slot_name = 'lost'"));
            });
        } finally {
            Sql.exec("ALTER SYSTEM RESET max_slot_wal_keep_size", "SELECT pg_reload_conf()");
        }
        int port = freePort();
        java.nio.file.Path routes = routes("lost-to-lake", "kamelet:datalake-sink?target={{pgrouter.sinks.lake.root}}");
        try (RouterProcess router = RouterProcess.start(withSlot("lost", routes, port, "pgrouter.wal.max-restart-backoff-ms", "2000"))) {
            await().atMost(Duration.ofSeconds(90)).until(() -> readiness(port).body().contains("was invalidated"));
            HttpResponse<String> down = readiness(port);
            assertThat(down.statusCode()).isEqualTo(503);
            assertThat(down.body()).contains("slot lost was invalidated by PostgreSQL (wal_status = lost)")
                    .contains("max_slot_wal_keep_size").contains("pg_drop_replication_slot('lost')").contains("bin/pgrouter backfill --table");
            assertThat(router.isAlive()).isTrue();

            // the fix as the message says it (no offset was stored for this slot): drop the slot; the router streams again
            Sql.exec("SELECT pg_drop_replication_slot('lost')");
            await().atMost(Duration.ofSeconds(90)).until(() -> readiness(port).statusCode() == 200);
            Sql.exec("INSERT INTO marketplace.products (seller_id, category, title, price) VALUES (1, 'books', 'after-the-fix', 1)");
            await().atMost(Duration.ofSeconds(30)).until(() -> Lake.rows("marketplace.products").stream()
                    .anyMatch(e -> "after-the-fix".equals(e.path("title").asText())));
        } finally {
            Sql.exec("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = 'lost' AND NOT active");
        }
    }
}
