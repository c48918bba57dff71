package io.pgrouter.packaged;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.pgrouter.event.CanonicalEvent;
import io.pgrouter.testing.RouterProcess;
import io.pgrouter.testing.Sql;
import io.pgrouter.testing.TestServers;

/**
 * Route files changed while the packaged router runs under load: the change takes effect between two batches (every
 * row reaches exactly one version of the route, the old one for every row before the switch and the new one after),
 * a broken change is refused with the file and the reason while the running route goes on, and a route on a table the
 * stream did not carry starts receiving its rows.
 */
class RoutesReloadIT {

    static final TestServers servers = new TestServers();
    static Map<String, String> config;
    static Path routes;
    static final AtomicInteger nextId = new AtomicInteger();

    @BeforeAll
    static void start() throws Exception {
        config = new HashMap<>(servers.start());
        routes = Files.createTempDirectory("routes");
        config.put("pgrouter.routes.dir", routes.toString());
        config.put("pgrouter.wal.slot", "reload");
        config.put("pgrouter.wal.publication", "reload");
        config.put("pgrouter.routes.reload-interval-ms", "200");
    }

    @AfterAll
    static void stop() {
        servers.stop();
    }

    /** A WAL route on {@code table} to the test receiver's {@code path}. */
    static String route(String id, String table, String path) {
        return RoutesCheckIT.route(id, table, "kamelet:webhook-sink?url={{pgrouter.test.receiver}}" + path);
    }

    /** Atomically, as an editor that writes a temporary file and renames it (and as a ConfigMap update) does. */
    static void write(String name, String content) throws Exception {
        Path tmp = routes.resolve("." + name + ".tmp");
        Files.writeString(tmp, content);
        Files.move(tmp, routes.resolve(name), java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    static List<Integer> ids(String path) {
        List<Integer> ids = new ArrayList<>();
        for (var d : TestServers.webhook.deliveries(path)) {
            try {
                ids.add(CanonicalEvent.JSON.readTree(d.body()).at("/data/after/id").asInt());
            } catch (Exception e) {
                throw new IllegalStateException(d.body(), e);
            }
        }
        return ids;
    }

    /** The route-set version ({@code pgroutes}) of each event a path received. */
    static java.util.Set<String> versions(String path) {
        java.util.Set<String> versions = new java.util.HashSet<>();
        for (var d : TestServers.webhook.deliveries(path)) {
            try {
                versions.add(CanonicalEvent.JSON.readTree(d.body()).path("pgroutes").asText("(none)"));
            } catch (Exception e) {
                throw new IllegalStateException(d.body(), e);
            }
        }
        return versions;
    }

    static String health(int port) throws Exception {
        return WalSourceFaultsIT.readiness(port).body();
    }


    @Test
    void aChangedRouteTakesOverBetweenBatchesABrokenOneIsRefusedAndANewTableIsStreamed() throws Exception {
        write("items.yaml", route("wal-items", "test.reload_items", "/v1"));
        int port = WalSourceFaultsIT.freePort();
        Map<String, String> c = new HashMap<>(config);
        c.put("quarkus.http.port", String.valueOf(port));
        try (RouterProcess router = RouterProcess.start(c)) {
            await().atMost(Duration.ofSeconds(60)).until(() -> WalSourceFaultsIT.readiness(port).statusCode() == 200);
            String firstVersion = health(port).replaceAll("(?s).*\"routes version\": \"(\\w+)\".*", "$1");
            String routesRunning = health(port).replaceAll("(?s).*\"routes running\": \"(\\d+)\".*", "$1");

            // rows keep coming, one transaction each, while the route is edited to send elsewhere
            int rows = 400;
            Thread writer = new Thread(() -> {
                for (int i = 0; i < rows; i++) {
                    int id = nextId.incrementAndGet();
                    Sql.exec("INSERT INTO test.reload_items VALUES (" + id + ", 'item " + id + "')");
                }
            }, "reload-writer");
            writer.start();
            await().atMost(Duration.ofSeconds(30)).until(() -> ids("/v1").size() >= 50);
            write("items.yaml", route("wal-items", "test.reload_items", "/v2"));
            writer.join();
            await().atMost(Duration.ofSeconds(60)).until(() -> ids("/v1").size() + ids("/v2").size() >= rows);
            List<Integer> v1 = ids("/v1"), v2 = ids("/v2");
            assertThat(v2).as("the new version took over").isNotEmpty();
            // every row exactly once, by one version: the old one up to the switch, the new one after it
            List<Integer> all = new ArrayList<>(v1);
            all.addAll(v2);
            assertThat(all).doesNotHaveDuplicates().hasSize(rows);
            assertThat(v1.stream().mapToInt(Integer::intValue).max().getAsInt()).isLessThan(v2.stream().mapToInt(Integer::intValue).min().getAsInt());
            String secondVersion = health(port).replaceAll("(?s).*\"routes version\": \"(\\w+)\".*", "$1");
            assertThat(secondVersion).isNotEqualTo(firstVersion);
            // each event names the route set that routed it
            assertThat(versions("/v1")).containsOnly(firstVersion);
            assertThat(versions("/v2")).containsOnly(secondVersion);
            // the replaced route's Kamelet route went with it
            assertThat(health(port)).contains("\"routes running\": \"" + routesRunning + "\"");

            // a broken change is refused, named, and the route that ran goes on
            write("items.yaml", route("wal-items", "test.reload_items", "/v3").replace("    from:", "  from:"));
            await().atMost(Duration.ofSeconds(30)).until(() -> health(port).contains("refused version"));
            assertThat(health(port)).contains("items.yaml").contains("\"routes version\": \"" + secondVersion + "\"");
            assertThat(LeaderElectionIT.metrics(port)).contains("pgrouter_routes_refused 1.0");
            int id = nextId.incrementAndGet();
            Sql.exec("INSERT INTO test.reload_items VALUES (" + id + ", 'after the refused change')");
            await().atMost(Duration.ofSeconds(30)).until(() -> ids("/v2").contains(id));

            // a route on a table the stream did not carry: the stream restarts on it; the edited route is fixed too
            write("items.yaml", route("wal-items", "test.reload_items", "/v2"));
            write("new.yaml", route("wal-new", "test.reload_new", "/new"));
            await().atMost(Duration.ofSeconds(30)).until(() -> health(port).contains("\"wal-new") || !health(port).contains("refused version")
                    && Sql.count("SELECT count(*) FROM pg_publication_tables WHERE pubname = 'reload' AND tablename = 'reload_new'") == 1);
            await().atMost(Duration.ofSeconds(60)).until(() -> WalSourceFaultsIT.readiness(port).statusCode() == 200
                    && Sql.count("SELECT count(*) FROM pg_publication_tables WHERE pubname = 'reload' AND tablename = 'reload_new'") == 1);
            assertThat(LeaderElectionIT.metrics(port)).contains("pgrouter_routes_refused 0.0");
            Sql.exec("INSERT INTO test.reload_new VALUES (1, 'new table')");
            int after = nextId.incrementAndGet();
            Sql.exec("INSERT INTO test.reload_items VALUES (" + after + ", 'beside the new table')");
            await().atMost(Duration.ofSeconds(30)).until(() -> ids("/new").contains(1) && ids("/v2").contains(after));
            router.output().lines().filter(l -> l.contains("routes version") || l.contains("restarting for")).forEach(l -> System.out.println("[reload] " + l));
            assertThat(router.output()).as(router.output()).doesNotContain("Exception").doesNotContainPattern("(?m)^\\s+at [\\w$.]+\\(");
        }
    }

    @Test
    void aKameletDroppedIntoTheKameletsFolderIsASinkWithoutJava() throws Exception {
        Path kamelets = Files.createTempDirectory("kamelets");
        String kamelet = """
                apiVersion: camel.apache.org/v1
                kind: Kamelet
                metadata:
                  name: storefront-sink
                  labels:
                    camel.apache.org/kamelet.type: sink
                spec:
                  definition:
                    title: Storefront Sink
                    required: [url, region]
                    properties:
                      url:
                        title: URL
                        type: string
                      region:
                        title: Region
                        type: string
                  template:
                    from:
                      uri: kamelet:source
                      steps:
                        - setHeader:
                            name: X-Storefront-Region
                            constant: "{{region}}"
                        - setHeader:
                            name: Content-Type
                            constant: application/json
                        - to: "{{url}}"
                """;
        Files.writeString(kamelets.resolve("storefront-sink.kamelet.yaml"), kamelet);
        Path ownRoutes = Files.createTempDirectory("routes");
        Files.writeString(ownRoutes.resolve("storefront.yaml"), """
                - route:
                    id: wal-items-to-storefront
                    from:
                      uri: pg:wal
                      parameters:
                        tables: test.reload_items
                      steps:
                        - to: "kamelet:storefront-sink?url={{pgrouter.test.receiver}}/storefront&region=eu"
                """);
        int port = WalSourceFaultsIT.freePort();
        Map<String, String> c = new HashMap<>(config);
        c.put("quarkus.http.port", String.valueOf(port));
        c.put("pgrouter.routes.dir", ownRoutes.toString());
        c.put("pgrouter.kamelets.dir", kamelets.toString());
        c.put("pgrouter.wal.slot", "kamelets");
        c.put("pgrouter.wal.publication", "kamelets");
        try (RouterProcess router = RouterProcess.start(c)) {
            await().atMost(Duration.ofSeconds(60)).until(() -> WalSourceFaultsIT.readiness(port).statusCode() == 200);
            int id = nextId.incrementAndGet();
            Sql.exec("INSERT INTO test.reload_items VALUES (" + id + ", 'to the storefront')");
            await().atMost(Duration.ofSeconds(30)).until(() -> !TestServers.webhook.deliveries("/storefront").isEmpty());
            var delivery = TestServers.webhook.deliveries("/storefront").get(0);
            assertThat(delivery.header("X-Storefront-Region")).isEqualTo("eu");
            assertThat(CanonicalEvent.JSON.readTree(delivery.body()).at("/data/after/id").asInt()).isEqualTo(id);
            String routesRunning = health(port).replaceAll("(?s).*\"routes running\": \"(\\d+)\".*", "$1");

            // the Kamelet edited while the router runs: the route that uses it is made again from the new template
            String version = health(port).replaceAll("(?s).*\"routes version\": \"(\\w+)\".*", "$1");
            Path tmp = kamelets.resolve(".storefront-sink.tmp");
            Files.writeString(tmp, kamelet.replace("constant: \"{{region}}\"", "constant: \"{{region}}-2\""));
            Files.move(tmp, kamelets.resolve("storefront-sink.kamelet.yaml"), java.nio.file.StandardCopyOption.ATOMIC_MOVE,
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            await().atMost(Duration.ofSeconds(30)).until(() -> !health(port).contains("\"routes version\": \"" + version + "\""));
            int second = nextId.incrementAndGet();
            Sql.exec("INSERT INTO test.reload_items VALUES (" + second + ", 'through the edited Kamelet')");
            await().atMost(Duration.ofSeconds(30)).until(() -> TestServers.webhook.deliveries("/storefront").size() >= 2);
            var edited = TestServers.webhook.deliveries("/storefront").get(1);
            assertThat(CanonicalEvent.JSON.readTree(edited.body()).at("/data/after/id").asInt()).isEqualTo(second);
            assertThat(edited.header("X-Storefront-Region")).isEqualTo("eu-2");
            // the route made from the old template is gone, not left running beside the new one
            assertThat(health(port)).contains("\"routes running\": \"" + routesRunning + "\"");
            assertThat(TestServers.webhook.deliveries("/storefront")).hasSize(2);
        }
    }
}
