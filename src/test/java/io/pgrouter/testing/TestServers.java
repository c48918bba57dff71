package io.pgrouter.testing;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import io.pgrouter.demo.EmbeddedDatabase;
import io.pgrouter.demo.WebhookReceiver;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

/**
 * The real servers the router talks to in tests: PostgreSQL with wal_level=logical and the marketplace schema,
 * an HTTP webhook receiver, and a fresh lake directory. Hands their addresses to the app as configuration. A test of
 * the packaged commands takes them with {@code @RegisterExtension static final TestServers servers = new TestServers();}.
 */
public class TestServers implements QuarkusTestResourceLifecycleManager, org.junit.jupiter.api.extension.BeforeAllCallback,
        org.junit.jupiter.api.extension.AfterAllCallback {

    @Override
    public void beforeAll(org.junit.jupiter.api.extension.ExtensionContext context) {
        start();
    }

    @Override
    public void afterAll(org.junit.jupiter.api.extension.ExtensionContext context) {
        stop();
    }

    public static EmbeddedDatabase db;
    public static WebhookReceiver webhook;
    public static Path lake;
    private static Path work;
    /** The SMTP server of the demo routes' email sink (routes/wal-products-to-subscribers.yaml). */
    public static com.icegreen.greenmail.util.GreenMail smtp;
    /** Two Standard Webhooks secrets, both active (rotation). */
    public static final String SECRET_A = secret(), SECRET_B = secret();
    /** PostgreSQL asks for it on every TCP login (scram-sha-256), as a stock server does. */
    public static final String PG_PASSWORD = "pw-" + java.util.UUID.randomUUID();

    private static String secret() {
        byte[] key = new byte[24];
        new java.security.SecureRandom().nextBytes(key);
        return "whsec_" + java.util.Base64.getEncoder().encodeToString(key);
    }

    @Override
    public Map<String, String> start() {
        try {
            work = Files.createTempDirectory("pgrouter-test");
            db = new EmbeddedDatabase(work.resolve("pg"), 0, PG_PASSWORD).start();
            db.installMarketplace();
            try (var c = db.connect(); var s = c.createStatement();
                    var in = TestServers.class.getResourceAsStream("/sql/test-schema.sql")) {
                s.execute(new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8));
            }
            webhook = new WebhookReceiver(0);
            lake = Files.createDirectories(work.resolve("lake"));
            int smtpPort = Ports.free();
            smtp = new com.icegreen.greenmail.util.GreenMail(new com.icegreen.greenmail.util.ServerSetup(smtpPort, "127.0.0.1",
                    com.icegreen.greenmail.util.ServerSetup.PROTOCOL_SMTP));
            smtp.start();
            return Map.ofEntries(
                    Map.entry("pgrouter.test.receiver", webhook.url("")),
                    Map.entry("pgrouter.test.webhook-secrets", SECRET_A + " " + SECRET_B),
                    Map.entry("pgrouter.test.pg-host", "127.0.0.1"),
                    Map.entry("pgrouter.test.pg-port", String.valueOf(db.port())),
                    Map.entry("pgrouter.postgres.url", db.jdbcUrl()),
                    Map.entry("pgrouter.postgres.user", "postgres"),
                    Map.entry("pgrouter.postgres.password", PG_PASSWORD),
                    Map.entry("pgrouter.sinks.webhook.url", webhook.url("/webhook")),
                    Map.entry("pgrouter.sinks.lake.root", lake.toString()),
                    Map.entry("pgrouter.sinks.email.host", "127.0.0.1"),
                    Map.entry("pgrouter.sinks.email.port", String.valueOf(smtpPort)),
                    Map.entry("pgrouter.sinks.email.security", "none"),
                    // nothing listens on port 1: connections are refused at once
                    Map.entry("pgrouter.test.unreachable-url", "http://127.0.0.1:1/hook"));
        } catch (Exception e) {
            throw new IllegalStateException("test servers did not start", e);
        }
    }

    @Override
    public void stop() {
        if (webhook != null) webhook.close();
        if (smtp != null) smtp.stop();
        try {
            if (db != null) db.close();
            Dirs.deleteTree(work);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
