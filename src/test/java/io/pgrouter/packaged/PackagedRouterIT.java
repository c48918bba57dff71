package io.pgrouter.packaged;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.IntStream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.pgrouter.testing.Lake;
import io.pgrouter.testing.RouterProcess;
import io.pgrouter.testing.Sql;
import io.pgrouter.testing.TestServers;

/** The packaged router as a process: start-up errors users see, and no loss across kill -9. */
class PackagedRouterIT {

    static final TestServers servers = new TestServers();
    static Map<String, String> config;

    @BeforeAll
    static void startServers() {
        config = new HashMap<>(servers.start());
        config.put("quarkus.http.port", "0");
    }

    @AfterAll
    static void stopServers() {
        servers.stop();
    }

    static Path routes(String name, String yaml) throws Exception {
        Path dir = Files.createTempDirectory("routes");
        Files.writeString(dir.resolve(name), yaml);
        return dir;
    }

    static Map<String, String> with(String key, String value) {
        Map<String, String> c = new HashMap<>(config);
        c.put(key, value);
        return c;
    }

    /** The class replaced for speed (see src/main/java/io/debezium/pipeline/meters/CommonEventMeter.java) is ours in the package. */
    @Test
    void thePackageCarriesOurDebeziumMeterInsteadOfDebeziumsOwn() throws Exception {
        String meter = "io/debezium/pipeline/meters/CommonEventMeter.class";
        Path app = Path.of("target", "quarkus-app");
        try (var libs = Files.list(app.resolve("lib/main"))) {
            Path core = libs.filter(p -> p.getFileName().toString().startsWith("io.debezium.debezium-core-")).findFirst().orElseThrow();
            try (var jar = new java.util.zip.ZipFile(core.toFile())) {
                assertThat(jar.getEntry(meter)).as("Debezium's own meter in " + core).isNull();
            }
        }
        try (var apps = Files.list(app.resolve("app"))) {
            Path ours = apps.filter(p -> p.toString().endsWith(".jar")).findFirst().orElseThrow();
            try (var jar = new java.util.zip.ZipFile(ours.toFile())) {
                assertThat(jar.getEntry(meter)).as("our meter in " + ours).isNotNull();
            }
        }
    }

    @Test
    void aRouteFileThatDoesNotParseFailsStartUpNamingTheFileAndLine() throws Exception {
        Path dir = routes("broken-route.yaml", """
                - route:
                    id: broken-route
                    from:
                      uri: pg:wal
                     parameters:
                        tables: marketplace.products
                """);
        try (RouterProcess router = RouterProcess.start(with("pgrouter.routes.dir", dir.toString()))) {
            assertThat(router.exitCode(90)).isNotZero();
            assertThat(router.output()).contains("broken-route.yaml:5").contains("indent");
            assertReadable(router.output());
        }
    }

    @Test
    void aWrongPasswordFailsStartUpNamingTheUserTheSettingAndTheFix() throws Exception {
        // a role that must give its password (scram-sha-256), whatever the test database asks of others
        Sql.exec("DO $$ BEGIN CREATE ROLE wrong_pw LOGIN REPLICATION; EXCEPTION WHEN duplicate_object THEN NULL; END $$",
                "SET password_encryption = 'scram-sha-256'", "ALTER ROLE wrong_pw PASSWORD 'the-right-one'");
        Path hba = Path.of(Sql.text("SHOW hba_file"));
        String rules = Files.readString(hba);
        if (!rules.contains("wrong_pw")) {
            Files.writeString(hba, "host all wrong_pw 127.0.0.1/32 scram-sha-256\nhost all wrong_pw ::1/128 scram-sha-256\n" + rules);
            Sql.exec("SELECT pg_reload_conf()");
        }
        Map<String, String> c = with("pgrouter.postgres.user", "wrong_pw");
        c.put("pgrouter.postgres.password", "a-wrong-one");
        try (RouterProcess router = RouterProcess.start(c)) {
            assertThat(router.exitCode(90)).isNotZero();
            assertThat(router.output()).contains("wrong_pw").contains("pgrouter.postgres.password").contains("PGROUTER_POSTGRES_PASSWORD")
                    .doesNotContain("a-wrong-one");
            assertReadable(router.output());
        }
    }

    /**
     * What a person reads when the router cannot start: no "Caused by" chains, no stack frames, and from the first
     * error on (Camel's lines about stopping the routes included) a screenful at most.
     */
    static void assertReadable(String output) {
        assertThat(output).as(output).doesNotContain("Caused by").doesNotContainPattern("(?m)^\\s+at [\\w$.]+\\(");
        String fromError = output.substring(Math.max(0, output.indexOf(" ERROR ")));
        assertThat(fromError.lines().filter(l -> !l.isBlank()).count()).as(output).isLessThanOrEqualTo(15);
    }

    @Test
    void aPgUriWithAnUnknownOptionFailsStartUpNamingTheOption() throws Exception {
        Path dir = routes("wal-typo-to-lake.yaml", """
                - route:
                    id: wal-typo-to-lake
                    from:
                      uri: pg:wal
                      parameters:
                        tabels: marketplace.products
                      steps:
                        - to: "kamelet:datalake-sink?target={{pgrouter.sinks.lake.root}}"
                """);
        try (RouterProcess router = RouterProcess.start(with("pgrouter.routes.dir", dir.toString()))) {
            assertThat(router.exitCode(90)).isNotZero();
            assertThat(router.output()).contains("tabels").contains("wal-typo-to-lake");
        }
    }

    @Test
    void aRouteOnATableThatDoesNotExistFailsStartUpNamingTheRouteFileLineAndTable() throws Exception {
        Path dir = routes("wal-nope-to-lake.yaml", """
                - route:
                    id: wal-nope-to-lake
                    from:
                      uri: pg:wal
                      parameters:
                        tables: marketplace.nope
                      steps:
                        - to: "kamelet:datalake-sink?target={{pgrouter.sinks.lake.root}}"
                """);
        try (RouterProcess router = RouterProcess.start(with("pgrouter.routes.dir", dir.toString()))) {
            assertThat(router.exitCode(90)).isNotZero();
            assertThat(router.output()).contains("route 'wal-nope-to-lake' (wal-nope-to-lake.yaml:4)")
                    .contains("marketplace.nope, which does not exist in database postgres");
        }
    }

    @Test
    void aWebhookSecretNeverAppearsInTheRoutersOutput() throws Exception {
        byte[] key = new byte[24];
        new java.security.SecureRandom().nextBytes(key);
        String secret = "whsec_" + java.util.Base64.getEncoder().encodeToString(key);
        Path dir = routes("wal-products-to-signed-webhook.yaml", """
                - route:
                    id: wal-products-to-signed-webhook
                    from:
                      uri: pg:wal
                      parameters:
                        tables: marketplace.products
                      steps:
                        - to: "kamelet:webhook-sink?url={{pgrouter.test.receiver}}/secret-check&secret={{pgrouter.sinks.webhook.signing-keys}}&retries=1&backoffMs=10"
                """);
        Map<String, String> c = with("pgrouter.routes.dir", dir.toString());
        c.put("pgrouter.wal.slot", "secretcheck");
        c.put("pgrouter.wal.publication", "secretcheck");
        // a property name Camel does not recognise as sensitive: the router must not print it either
        c.put("pgrouter.sinks.webhook.signing-keys", secret);
        TestServers.webhook.script("/secret-check", 500, 401);
        try (RouterProcess router = RouterProcess.start(c)) {
            await().atMost(Duration.ofSeconds(60)).until(() -> Sql.count("SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'secretcheck' AND active") == 1);
            Sql.exec("INSERT INTO marketplace.products (seller_id, category, title, price) VALUES (1, 'books', 'secret-check', 1)");
            await().atMost(Duration.ofSeconds(30)).until(() -> Sql.count(
                    "SELECT count(*) FROM pgrouter.dead_letters WHERE route_id = 'wal-products-to-signed-webhook' AND last_status = 401") == 1);
            assertThat(router.output()).contains("secret-check").doesNotContain(secret.substring("whsec_".length()));
        }
    }

    @Test
    void eventsWaitingInTheRetryStoreWhenTheRouterIsKilledAreDeliveredAfterItRestarts() throws Exception {
        Path dir = routes("wal-sellers-to-down-webhook.yaml", """
                - route:
                    id: wal-sellers-to-down-webhook
                    from:
                      uri: pg:wal
                      parameters:
                        tables: marketplace.sellers
                      steps:
                        - to: "kamelet:webhook-sink?url={{pgrouter.test.receiver}}/down&retries=0&backoffMs=1000"
                """);
        Map<String, String> c = with("pgrouter.routes.dir", dir.toString());
        c.put("pgrouter.wal.slot", "retrykill");
        c.put("pgrouter.wal.publication", "retrykill");
        Integer[] failures = new Integer[200];
        java.util.Arrays.fill(failures, 503);
        TestServers.webhook.script("/down", failures);
        try (RouterProcess first = RouterProcess.start(c)) {
            await().atMost(Duration.ofSeconds(60)).until(() -> Sql.count("SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'retrykill' AND active") == 1);
            Sql.exec("INSERT INTO marketplace.sellers (name, email) VALUES ('Waiting Seller', 'waiting@example.com')");
            await().atMost(Duration.ofSeconds(30)).until(() -> Sql.count("SELECT count(*) FROM pgrouter.retries WHERE event LIKE '%waiting@example.com%'") == 1);
            first.kill();
        }
        TestServers.webhook.script("/down"); // the receiver is back
        try (RouterProcess second = RouterProcess.start(c)) {
            await().atMost(Duration.ofSeconds(60)).until(() -> TestServers.webhook.deliveries("/down").stream().anyMatch(d -> d.body().contains("waiting@example.com")));
            await().atMost(Duration.ofSeconds(10)).until(() -> Sql.count("SELECT count(*) FROM pgrouter.retries") == 0);
            // at-least-once: the WAL may hand the event over again after kill -9 (its position was not stored yet);
            // a duplicate carries the same webhook-id, so the receiver can drop it
            assertThat(TestServers.webhook.deliveries("/down")).extracting(d -> d.header("webhook-id")).containsOnly(
                    TestServers.webhook.deliveries("/down").get(0).header("webhook-id"));
        }
    }

    @Test
    void rowsCommittedWhileTheRouterIsKilledArriveAfterItStartsAgain() throws Exception {
        Map<String, String> c = with("pgrouter.wal.slot", "packaged");
        c.put("pgrouter.wal.publication", "packaged");
        try (RouterProcess first = RouterProcess.start(c)) {
            await().atMost(Duration.ofSeconds(60)).until(() -> Sql.count("SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'packaged' AND active") == 1);
            Sql.exec("INSERT INTO marketplace.products (seller_id, category, title, price) VALUES (1, 'books', 'before-kill', 1)");
            await().atMost(Duration.ofSeconds(30)).until(() -> titles().contains("before-kill"));
            first.kill();
        }
        IntStream.range(0, 50).forEach(i -> Sql.exec(
                "INSERT INTO marketplace.products (seller_id, category, title, price) VALUES (1, 'books', 'while-down-" + i + "', " + i + ")"));
        try (RouterProcess second = RouterProcess.start(c)) {
            await().atMost(Duration.ofSeconds(60)).until(() -> IntStream.range(0, 50).allMatch(i -> titles().contains("while-down-" + i)));
            assertThat(second.isAlive()).isTrue();
        }
    }

    static java.util.List<String> titles() {
        return Lake.rows("marketplace.products").stream().map(e -> e.path("title").asText()).toList();
    }
}
