package io.pgrouter.packaged;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.pgrouter.testing.RouterProcess;
import io.pgrouter.testing.Sql;
import io.pgrouter.testing.TestServers;

/**
 * Every connection the router opens (JDBC, Debezium's replication connection, the Vert.x LISTEN connection) over TLS
 * with sslmode=verify-full, for a role the server only lets in over TLS; a CA that did not sign the server's
 * certificate fails start-up in one paragraph naming sslrootcert. Certificates are made by the test with openssl.
 */
class PostgresTlsIT {

    static final TestServers servers = new TestServers();
    static Map<String, String> config;
    static Path certs;
    static final String USER = "tls_router", PASSWORD = "tls-" + java.util.UUID.randomUUID();

    static void run(Path dir, String... command) throws Exception {
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (p.waitFor() != 0) throw new IllegalStateException(String.join(" ", command) + ": " + out);
    }

    @BeforeAll
    static void start() throws Exception {
        config = new HashMap<>(servers.start());
        certs = Files.createTempDirectory("pg-tls");
        for (String ca : List.of("ca", "other-ca")) {
            run(certs, "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca + ".key", "-out", ca + ".crt", "-days", "2",
                    "-subj", "/CN=pgrouter test " + ca);
        }
        run(certs, "openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost");
        Files.writeString(certs.resolve("san.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
        run(certs, "openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.crt",
                "-days", "2", "-extfile", "san.ext");
        run(certs, "chmod", "600", "server.key");
        // the role may log in over TLS only: plain TCP logins of it are rejected before any other rule
        Path hba = TestServers.db.dataDir().resolve("pg_hba.conf");
        String rules = "hostnossl all " + USER + " all reject\nhostnossl replication " + USER + " all reject\n";
        if (!Files.readString(hba).startsWith(rules)) Files.writeString(hba, rules + Files.readString(hba));
        Sql.exec("ALTER SYSTEM SET ssl_cert_file = '" + certs.resolve("server.crt") + "'", "ALTER SYSTEM SET ssl_key_file = '" + certs.resolve("server.key") + "'",
                "ALTER SYSTEM SET ssl = on", "SELECT pg_reload_conf()",
                "DO $$ BEGIN CREATE ROLE " + USER + " LOGIN REPLICATION PASSWORD '" + PASSWORD + "'; EXCEPTION WHEN duplicate_object THEN NULL; END $$",
                "GRANT CREATE ON DATABASE postgres TO " + USER, "GRANT USAGE ON SCHEMA test TO " + USER, "ALTER TABLE test.tls_orders OWNER TO " + USER);
        await().atMost(Duration.ofSeconds(10)).until(() -> "on".equals(Sql.text("SHOW ssl")));
        Path routes = Files.createTempDirectory("routes");
        Files.writeString(routes.resolve("tls.yaml"), """
                - route:
                    id: wal-tls-orders
                    from:
                      uri: pg:wal
                      parameters:
                        tables: test.tls_orders
                      steps:
                        - to: "kamelet:webhook-sink?url={{pgrouter.test.receiver}}/tls-wal"
                - route:
                    id: notify-tls
                    from:
                      uri: pg:notify
                      parameters:
                        channels: tls_events
                      steps:
                        - to: "kamelet:webhook-sink?url={{pgrouter.test.receiver}}/tls-notify"
                """);
        config.put("pgrouter.routes.dir", routes.toString());
        config.put("pgrouter.postgres.user", USER);
        config.put("pgrouter.postgres.password", PASSWORD);
        config.put("pgrouter.postgres.schema", "tls_router");
        config.put("pgrouter.wal.slot", "tls");
        config.put("pgrouter.wal.publication", "tls");
    }

    @AfterAll
    static void stop() {
        servers.stop();
    }

    static String url(String ca) {
        return "jdbc:postgresql://localhost:" + TestServers.db.port() + "/postgres?sslmode=verify-full&sslrootcert=" + certs.resolve(ca);
    }

    @Test
    void walAndListenConnectionsVerifyTheServerAndDeliver() throws Exception {
        int port = WalSourceFaultsIT.freePort();
        Map<String, String> c = new HashMap<>(config);
        c.put("pgrouter.postgres.url", url("ca.crt"));
        c.put("quarkus.http.port", String.valueOf(port));
        try (RouterProcess router = RouterProcess.start(c)) {
            await().atMost(Duration.ofSeconds(60)).until(() -> WalSourceFaultsIT.readiness(port).statusCode() == 200);
            Sql.exec("INSERT INTO test.tls_orders VALUES (1, 'over tls')", "SELECT pg_notify('tls_events', '{\"id\": 7}')");
            await().atMost(Duration.ofSeconds(30)).until(() -> !TestServers.webhook.deliveries("/tls-wal").isEmpty()
                    && !TestServers.webhook.deliveries("/tls-notify").isEmpty());
            assertThat(TestServers.webhook.deliveries("/tls-wal").get(0).body()).contains("over tls");
            // every connection of the router's role is encrypted (the server would refuse any other)
            assertThat(Sql.count("SELECT count(*) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) WHERE usename = '" + USER + "' AND ssl")).isGreaterThanOrEqualTo(2);
            assertThat(Sql.count("SELECT count(*) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) WHERE usename = '" + USER + "' AND NOT ssl")).isZero();
        }
    }

    @Test
    void aCaThatDidNotSignTheServerFailsStartUpNamingSslrootcert() throws Exception {
        Map<String, String> c = new HashMap<>(config);
        c.put("pgrouter.postgres.url", url("other-ca.crt"));
        c.put("quarkus.http.port", "0");
        try (RouterProcess router = RouterProcess.start(c)) {
            assertThat(router.exitCode(90)).isNotZero();
            assertThat(router.output()).contains("The TLS connection to PostgreSQL").contains("sslrootcert")
                    .doesNotContainPattern("(?m)^\\s+at [\\w$.]+\\(");
        }
    }
}
