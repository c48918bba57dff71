package io.pgrouter.packaged;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;

import io.pgrouter.testing.Lake;
import io.pgrouter.testing.Ports;
import io.pgrouter.testing.RouterProcess;
import io.pgrouter.testing.Sql;
import io.pgrouter.testing.TestServers;

/**
 * A network partition between the router and PostgreSQL: the router runs in a network namespace of its own, reaching
 * PostgreSQL over a veth pair; nftables rules on both ends of the pair drop PostgreSQL's packets silently (no reset, no
 * ICMP, sends succeed), as a cut cable or a firewall that drops does, while writers keep writing. Readiness goes DOWN
 * naming the reason, comes back UP once the network heals, and every row written before, during and after reaches the
 * lake. Needs root, {@code ip} and {@code nft} (Debian's nftables, installed by .ci/run); skipped without them.
 */
class PartitionIT {

    static final TestServers servers = new TestServers();
    static final long PID = ProcessHandle.current().pid();
    static final String NAMESPACE = "pgrouter-partition-" + PID;
    /** Interface names have at most 15 characters. */
    static final String HOST_SIDE = "pgrh" + PID % 100_000, ROUTER_SIDE = "pgrn" + PID % 100_000;
    static final String HOST_TABLE = "pgrouter_partition_" + PID;
    static String hostAddress, routerAddress;
    static Map<String, String> config;
    static boolean namespaceMade, serversStarted;

    @BeforeAll
    static void setUp() throws Exception {
        assumeTrue("0".equals(run("id", "-u").strip()), "PartitionIT needs root (network namespaces and nftables); run as root, as CI does");
        assumeTrue(exitCode("ip", "netns", "add", NAMESPACE) == 0, "PartitionIT needs `ip netns add` to work (iproute2, root)");
        namespaceMade = true;
        assumeTrue(exitCode("nft", "--version") == 0, "PartitionIT needs nft: apt-get install nftables (as .ci/run does)");
        int subnet = freeSubnet();
        hostAddress = "10.231." + subnet + ".1";
        routerAddress = "10.231." + subnet + ".2";
        sh("ip", "link", "add", HOST_SIDE, "type", "veth", "peer", "name", ROUTER_SIDE);
        sh("ip", "link", "set", ROUTER_SIDE, "netns", NAMESPACE);
        sh("ip", "addr", "add", hostAddress + "/30", "dev", HOST_SIDE);
        sh("ip", "link", "set", HOST_SIDE, "up");
        inNamespace("ip", "addr", "add", routerAddress + "/30", "dev", ROUTER_SIDE);
        inNamespace("ip", "link", "set", ROUTER_SIDE, "up");
        inNamespace("ip", "link", "set", "lo", "up");

        config = new HashMap<>(servers.start());
        serversStarted = true;
        // PostgreSQL listens on the host's end of the pair too, and asks the router's subnet for a password there
        Sql.exec("ALTER SYSTEM SET listen_addresses = '127.0.0.1," + hostAddress + "'");
        TestServers.db.restart();
        Files.writeString(TestServers.db.dataDir().resolve("pg_hba.conf"), "host all all " + hostAddress + "/30 scram-sha-256\n"
                + "host replication all " + hostAddress + "/30 scram-sha-256\n", java.nio.file.StandardOpenOption.APPEND);
        Sql.exec("SELECT pg_reload_conf()");
        await().atMost(Duration.ofSeconds(10)).ignoreExceptions().until(() -> {
            try (Connection c = DriverManager.getConnection(url(), "postgres", TestServers.PG_PASSWORD)) {
                return true;
            }
        });
        Sql.exec("CREATE TABLE IF NOT EXISTS test.partition_load (id int PRIMARY KEY, written_at timestamptz NOT NULL DEFAULT now())");
    }

    @AfterAll
    static void tearDown() {
        heal();
        exitCode("ip", "link", "del", HOST_SIDE); // removes its peer in the namespace too
        if (namespaceMade) exitCode("ip", "netns", "del", NAMESPACE);
        if (serversStarted) servers.stop();
    }

    static String url() {
        return "jdbc:postgresql://" + hostAddress + ":" + TestServers.db.port() + "/postgres";
    }

    @Test
    void aSilentPartitionIsNoticedReadinessIsDownWithTheReasonAndNothingIsLostOnceItHeals() throws Exception {
        Path routes = Files.createTempDirectory("routes");
        toLake(routes, "wal-partition-to-lake", "pg:wal", "tables: test.partition_load");
        toLake(routes, "notify-subscriptions-to-lake", "pg:notify", "channels: subscriptions");
        int port = Ports.free();
        Map<String, String> c = new HashMap<>(config);
        c.putAll(Map.of("pgrouter.postgres.url", url(), "pgrouter.routes.dir", routes.toString(), "pgrouter.wal.slot", "partition",
                "pgrouter.wal.publication", "partition", "quarkus.http.host", "0.0.0.0", "quarkus.http.port", String.valueOf(port)));
        AtomicInteger written = new AtomicInteger();
        ScheduledExecutorService writer = Executors.newSingleThreadScheduledExecutor();
        try (RouterProcess router = RouterProcess.start(c, List.of("ip", "netns", "exec", NAMESPACE));
                Connection db = TestServers.db.connect();
                PreparedStatement insert = db.prepareStatement("INSERT INTO test.partition_load (id) VALUES (?)")) {
            await().atMost(Duration.ofSeconds(90)).until(() -> readiness(port).statusCode() == 200);
            // a steady load on the host side, 50 rows a second, one transaction each, before, during and after the partition
            writer.scheduleAtFixedRate(() -> {
                try {
                    insert.setInt(1, written.get() + 1);
                    insert.executeUpdate();
                    written.incrementAndGet();
                } catch (java.sql.SQLException e) {
                    throw new IllegalStateException(e);
                }
            }, 0, 20, TimeUnit.MILLISECONDS);
            await().atMost(Duration.ofSeconds(30)).until(() -> keys().size() >= 100);

            long cut = System.nanoTime();
            int writtenAtCut = written.get();
            partition(TestServers.db.port());
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).until(() -> readiness(port).statusCode() == 503);
            long detected = System.nanoTime();
            // both sources say why: the WAL source's check gets no answer, the LISTEN connection's check neither
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).until(() -> {
                String body = readiness(port).body();
                return body.contains("PostgreSQL at " + hostAddress + ":" + TestServers.db.port() + " is unreachable")
                        && body.contains("LISTEN connection lost");
            });
            long bothDown = System.nanoTime();
            // DOWN for as long as the partition lasts (30 s in all): never UP on a connection that cannot work
            await().during(Duration.ofNanos(Math.max(0, cut + TimeUnit.SECONDS.toNanos(30) - System.nanoTime()))).atMost(Duration.ofSeconds(45))
                    .pollInterval(Duration.ofMillis(500)).until(() -> readiness(port).statusCode() == 503);
            assertThat(written.get()).as("the writers went on during the partition").isGreaterThan(writtenAtCut);

            heal();
            long healed = System.nanoTime();
            int writtenAtHeal = written.get();
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).until(() -> readiness(port).statusCode() == 200);
            long ready = System.nanoTime();
            // the rows written before and during the partition: PostgreSQL keeps them in the slot until the router is back
            await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(500)).until(() -> keys().size() >= writtenAtHeal
                    && keys().containsAll(java.util.stream.IntStream.rangeClosed(1, writtenAtHeal).boxed().toList()));
            long caughtUp = System.nanoTime();
            // a notification after healing is heard: LISTEN was opened again by itself
            Sql.exec("INSERT INTO marketplace.subscriptions (buyer_email, category) VALUES ('after-partition@example.com', 'books')");
            await().atMost(Duration.ofSeconds(30)).until(() -> Lake.rows("marketplace.subscriptions").stream()
                    .anyMatch(e -> "after-partition@example.com".equals(e.path("buyer_email").asText())));

            // a few more seconds of writes after healing, then every row written reaches the lake
            int afterHeal = written.get();
            await().atMost(Duration.ofSeconds(30)).until(() -> written.get() >= afterHeal + 200);
            writer.shutdown();
            assertThat(writer.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
            int total = written.get();
            await().atMost(Duration.ofSeconds(60)).until(() -> keys().size() == total);
            List<JsonNode> rows = Lake.rows("test.partition_load");
            Set<Integer> keys = keys();
            assertThat(keys).hasSize(total).allMatch(k -> k >= 1 && k <= total);
            assertThat(router.isAlive()).isTrue();
            System.out.printf("partition: rows written %d (%d during the cut), in the lake %d (distinct %d, duplicates %d, lost %d); readiness DOWN "
                    + "%.1f s after the cut (both sources' reasons %.1f s), UP %.1f s after healing; the rows written up to the healing all in the lake "
                    + "%.1f s after it%n", total, writtenAtHeal - writtenAtCut, rows.size(), keys.size(), rows.size() - keys.size(),
                    total - keys.size(), seconds(detected - cut), seconds(bothDown - cut), seconds(ready - healed), seconds(caughtUp - healed));
        } finally {
            writer.shutdownNow();
            heal();
        }
    }

    /** A route file {@code <id>.yaml} from {@code uri} with one parameter to the lake. */
    static void toLake(Path dir, String id, String uri, String parameter) throws IOException {
        Files.writeString(dir.resolve(id + ".yaml"), String.join("\n", "- route:", "    id: " + id, "    from:", "      uri: " + uri,
                "      parameters:", "        " + parameter, "      steps:", "        - to: \"kamelet:datalake-sink?target={{pgrouter.sinks.lake.root}}\"", ""));
    }

    static Set<Integer> keys() {
        return Lake.rows("test.partition_load").stream().map(e -> e.path("id").asInt()).collect(Collectors.toSet());
    }

    static double seconds(long nanos) {
        return nanos / 1e9;
    }

    /**
     * Drops, on arrival, every packet between the router and PostgreSQL's port: on the router's end (from PostgreSQL)
     * and on the host's end (to PostgreSQL). Nothing answers, nothing is refused: both sides see silence. The health
     * endpoint stays reachable (a probe from the same network, as a kubelet's).
     */
    static void partition(int pgPort) throws IOException, InterruptedException {
        nft(List.of("ip", "netns", "exec", NAMESPACE, "nft", "-f", "-"), dropOnArrival("pgrouter_partition", ROUTER_SIDE,
                "ip saddr " + hostAddress + " tcp sport " + pgPort));
        nft(List.of("nft", "-f", "-"), dropOnArrival(HOST_TABLE, HOST_SIDE, "ip daddr " + hostAddress + " tcp dport " + pgPort));
    }

    static String dropOnArrival(String table, String device, String match) {
        return "table netdev " + table + " {\n  chain cut {\n    type filter hook ingress device \"" + device + "\" priority 0; policy accept;\n    "
                + match + " drop\n  }\n}\n";
    }

    static void heal() {
        if (!namespaceMade) return;
        exitCode("ip", "netns", "exec", NAMESPACE, "nft", "delete", "table", "netdev", "pgrouter_partition");
        exitCode("nft", "delete", "table", "netdev", HOST_TABLE);
    }

    static void nft(List<String> command, String rules) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        p.getOutputStream().write(rules.getBytes(StandardCharsets.UTF_8));
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) throw new IllegalStateException(command + " failed: " + out + "\nrules: " + rules);
    }

    /** A 10.231.x.0/30 subnet no interface of this machine uses yet. */
    static int freeSubnet() {
        String used = run("ip", "-4", "-o", "addr");
        for (int x = (int) (PID % 200) + 20;; x = x % 250 + 1) {
            if (!used.contains(" 10.231." + x + ".")) return x;
        }
    }

    static void inNamespace(String... command) {
        List<String> full = new java.util.ArrayList<>(List.of("ip", "netns", "exec", NAMESPACE));
        full.addAll(List.of(command));
        sh(full.toArray(String[]::new));
    }

    static void sh(String... command) {
        if (exitCode(command) != 0) throw new IllegalStateException(String.join(" ", command) + " failed: " + run(command));
    }

    static int exitCode(String... command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            return p.waitFor();
        } catch (IOException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    static String run(String... command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            p.waitFor();
            return out;
        } catch (IOException e) {
            return "";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "";
        }
    }

    record Answer(int statusCode, String body) {
    }

    /** The readiness endpoint through the veth pair (from the host, as a probe would). */
    static Answer readiness(int port) {
        try {
            HttpResponse<String> r = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build().send(HttpRequest.newBuilder(
                    URI.create("http://" + routerAddress + ":" + port + "/q/health/ready")).timeout(Duration.ofSeconds(5)).build(),
                    HttpResponse.BodyHandlers.ofString());
            return new Answer(r.statusCode(), r.body());
        } catch (IOException e) {
            return new Answer(0, "");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Answer(0, "");
        }
    }
}
