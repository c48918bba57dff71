package io.pgrouter.packaged;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.pgrouter.testing.RouterProcess;
import io.pgrouter.testing.Sql;
import io.pgrouter.testing.TestServers;

/**
 * The router as the role of sql/least-privilege.sql: no superuser, REPLICATION, its own schema, SELECT on a table it
 * does not own, the publication made by the administrator. The SQL file is run as written (psql variables filled in).
 */
class LeastPrivilegeIT {

    static final TestServers servers = new TestServers();
    static Map<String, String> config;
    static final String PASSWORD = "lp-" + java.util.UUID.randomUUID();

    @BeforeAll
    static void start() throws Exception {
        config = new HashMap<>(servers.start());
        // psql's :'password', :"schema" and :tables, as the file's header shows how to pass them
        String sql = Files.readString(Path.of("sql/least-privilege.sql"))
                .replace(":'password'", "'" + PASSWORD + "'").replace(":\"schema\"", "test").replace(":tables", "test.lp_orders");
        StringBuilder statements = new StringBuilder();
        for (String line : sql.split("\n")) if (!line.startsWith("--")) statements.append(line).append('\n');
        for (String statement : statements.toString().split(";")) {
            if (!statement.isBlank()) Sql.exec(statement);
        }
        Path routes = Files.createTempDirectory("routes");
        Files.writeString(routes.resolve("lp.yaml"), """
                - route:
                    id: wal-lp-orders
                    from:
                      uri: pg:wal
                      parameters:
                        tables: test.lp_orders
                      steps:
                        - to: "kamelet:webhook-sink?url={{pgrouter.test.receiver}}/least-privilege"
                """);
        config.put("pgrouter.routes.dir", routes.toString());
        config.put("pgrouter.postgres.user", "pgrouter");
        config.put("pgrouter.postgres.password", PASSWORD);
        config.put("pgrouter.postgres.schema", "pgrouter");
        config.put("pgrouter.wal.slot", "least_privilege");
        config.put("pgrouter.wal.publication", "pgrouter");
    }

    @AfterAll
    static void stop() {
        servers.stop();
    }

    @Test
    void theRoleOfTheSqlFileStreamsATableItDoesNotOwn() throws Exception {
        assertThat(Sql.text("SELECT rolsuper::text FROM pg_roles WHERE rolname = 'pgrouter'")).isEqualTo("false");
        int port = WalSourceFaultsIT.freePort();
        Map<String, String> c = new HashMap<>(config);
        c.put("quarkus.http.port", String.valueOf(port));
        try (RouterProcess router = RouterProcess.start(c)) {
            try {
                await().atMost(Duration.ofSeconds(60)).until(() -> WalSourceFaultsIT.readiness(port).statusCode() == 200);
            } catch (org.awaitility.core.ConditionTimeoutException e) {
                throw new AssertionError("not ready: " + WalSourceFaultsIT.readiness(port).body() + "\n" + router.output(), e);
            }
            Sql.exec("INSERT INTO test.lp_orders VALUES (1, 'least privilege')");
            await().atMost(Duration.ofSeconds(30)).until(() -> !TestServers.webhook.deliveries("/least-privilege").isEmpty());
            assertThat(TestServers.webhook.deliveries("/least-privilege").get(0).body()).contains("least privilege");
            assertThat(router.output()).doesNotContain(" ERROR ");
        }
    }
}
