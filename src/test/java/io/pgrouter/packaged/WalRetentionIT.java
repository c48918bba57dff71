package io.pgrouter.packaged;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.sun.net.httpserver.HttpServer;

import io.pgrouter.testing.Ports;
import io.pgrouter.testing.RouterProcess;
import io.pgrouter.testing.Sql;
import io.pgrouter.testing.TestServers;

/**
 * The WAL retention guard against real PostgreSQL: a slot held back past pgrouter.wal.max-lag-bytes shows in readiness
 * data and a metric with what holds it back; a slot PostgreSQL invalidated (max_slot_wal_keep_size) is named with
 * the fix, and the fix works.
 */
class WalRetentionIT {

    static final TestServers servers = new TestServers();
    static Map<String, String> config;
    static final HttpClient HTTP = HttpClient.newHttpClient();

    @BeforeAll
    static void startServers() {
        config = new HashMap<>(servers.start());
    }

    @AfterAll
    static void stopServers() {
        servers.stop();
    }

    /** A routes folder with one route from marketplace.products to {@code to}. */
    static Path routes(String id, String to) throws Exception {
        Path dir = Files.createTempDirectory("routes");
        Files.writeString(dir.resolve(id + ".yaml"), String.join("\n",
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

    static Map<String, String> with(String slot, Path routes, int port, String... more) {
        Map<String, String> c = new HashMap<>(config);
        c.putAll(Map.of("pgrouter.wal.slot", slot, "pgrouter.wal.publication", slot, "pgrouter.routes.dir", routes.toString(),
                "quarkus.http.port", String.valueOf(port)));
        for (int i = 0; i < more.length; i += 2) c.put(more[i], more[i + 1]);
        return c;
    }

    static HttpResponse<String> get(int port, String path) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).timeout(Duration.ofSeconds(5)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void aSinkThatDoesNotAnswerHoldingTheSlotBackIsDegradedWithItsRouteAndOkAgainOnceItAnswers() throws Exception {
        // a receiver that answers only once released: the batch with the first product waits for it
        CountDownLatch release = new CountDownLatch(1);
        List<String> received = new CopyOnWriteArrayList<>();
        HttpServer receiver = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
        receiver.createContext("/", exchange -> {
            try (exchange) {
                received.add(new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
                release.await(120, TimeUnit.SECONDS);
                exchange.sendResponseHeaders(204, -1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        receiver.start();
        int port = Ports.free();
        Path routes = routes("retention-to-slow-webhook",
                "kamelet:webhook-sink?url=http://127.0.0.1:" + receiver.getAddress().getPort() + "/hook&timeoutMs=120000&retries=0");
        try (RouterProcess router = RouterProcess.start(with("retention", routes, port, "pgrouter.wal.max-lag-bytes", String.valueOf(1024 * 1024)))) {
            await().atMost(Duration.ofSeconds(90)).until(() -> get(port, "/q/health/ready").body().contains("ok: slot retention"));
            Sql.exec("INSERT INTO marketplace.products (seller_id, category, title, price) VALUES (1, 'books', 'held-back', 1)");
            await().atMost(Duration.ofSeconds(30)).until(() -> received.stream().anyMatch(b -> b.contains("held-back")));
            // 4 MB of WAL on a table no route reads, while the slot waits for the receiver
            Sql.exec("CREATE TABLE IF NOT EXISTS public.retention_filler (t text)",
                    "INSERT INTO public.retention_filler SELECT repeat('x', 1000) FROM generate_series(1, 4000)");
            await().atMost(Duration.ofSeconds(30)).until(() -> get(port, "/q/health/ready").body().contains("DEGRADED: slot retention"));
            HttpResponse<String> degraded = get(port, "/q/health/ready");
            assertThat(degraded.statusCode()).as("readiness stays UP: restarting would not help").isEqualTo(200);
            assertThat(degraded.body()).contains("above pgrouter.wal.max-lag-bytes = 1.0 MiB").contains("now in route retention-to-slow-webhook");
            assertThat(get(port, "/q/metrics").body()).contains("pgrouter_wal_slot_lag_over_limit{slot=\"retention\"} 1.0");

            release.countDown();
            // the batch ends, the position is stored and confirmed (the heartbeat moves it past the filler)
            await().atMost(Duration.ofSeconds(60)).until(() -> get(port, "/q/health/ready").body().contains("ok: slot retention"));
            assertThat(get(port, "/q/metrics").body()).contains("pgrouter_wal_slot_lag_over_limit{slot=\"retention\"} 0.0");
            long lag = Long.parseLong(Sql.text("SELECT (pg_current_wal_lsn() - confirmed_flush_lsn)::bigint::text FROM pg_replication_slots "
                    + "WHERE slot_name = 'retention'"));
            assertThat(lag).isLessThan(1024 * 1024);
        } finally {
            release.countDown();
            receiver.stop(0);
            Sql.exec("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = 'retention' AND NOT active");
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
        int port = Ports.free();
        Path routes = routes("lost-to-lake", "kamelet:datalake-sink?target={{pgrouter.sinks.lake.root}}");
        try (RouterProcess router = RouterProcess.start(with("lost", routes, port, "pgrouter.wal.max-restart-backoff-ms", "2000"))) {
            await().atMost(Duration.ofSeconds(90)).until(() -> get(port, "/q/health/ready").body().contains("was invalidated"));
            HttpResponse<String> down = get(port, "/q/health/ready");
            assertThat(down.statusCode()).isEqualTo(503);
            assertThat(down.body()).contains("slot lost was invalidated by PostgreSQL (wal_status = lost)")
                    .contains("max_slot_wal_keep_size").contains("pg_drop_replication_slot('lost')").contains("bin/pgrouter backfill --table");
            assertThat(router.isAlive()).isTrue();

            // the fix as the message says it (no offset was stored for this slot): drop the slot; the router streams again
            Sql.exec("SELECT pg_drop_replication_slot('lost')");
            await().atMost(Duration.ofSeconds(90)).until(() -> get(port, "/q/health/ready").statusCode() == 200);
            Sql.exec("INSERT INTO marketplace.products (seller_id, category, title, price) VALUES (1, 'books', 'after-the-fix', 1)");
            await().atMost(Duration.ofSeconds(30)).until(() -> io.pgrouter.testing.Lake.rows("marketplace.products").stream()
                    .anyMatch(e -> "after-the-fix".equals(e.path("title").asText())));
        } finally {
            Sql.exec("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = 'lost' AND NOT active");
        }
    }
}
