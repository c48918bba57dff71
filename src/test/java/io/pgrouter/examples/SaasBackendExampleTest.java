package io.pgrouter.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import jakarta.mail.internet.MimeMessage;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;

import io.pgrouter.event.CanonicalEvent;
import io.pgrouter.testing.ExampleProfile;
import io.pgrouter.testing.RabbitConsumer;
import io.pgrouter.testing.RabbitMqResource;
import io.pgrouter.testing.SmtpServer;
import io.pgrouter.testing.Sql;
import io.pgrouter.testing.TestServers;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;

/**
 * {@code examples/saas-backend}: its SQL and routes against real PostgreSQL, an SMTP server and RabbitMQ, read as the
 * new user and by consumers on their own queues as the exporter and the audit service would: a new user gets one
 * welcome email, an export is queued once when the flag turns true, every change reaches the audit queue with old and
 * new values (a bare login does not), and a migration's marked transaction welcomes nobody and is audited on its own
 * routing key.
 */
@QuarkusTest
@TestProfile(SaasBackendExampleTest.Profile.class)
@QuarkusTestResource(value = TestServers.class, restrictToAnnotatedClass = false)
class SaasBackendExampleTest {

    public static class Profile extends ExampleProfile {
        @Override
        protected List<String> folders() {
            return List.of("examples/saas-backend");
        }

        @Override
        protected List<TestResourceEntry> servers() {
            return List.of(new TestResourceEntry(RabbitMqResource.class), new TestResourceEntry(SmtpServer.class, Map.of(SmtpServer.PREFIX, "pgrouter.sinks.email")));
        }

        @Override
        protected Map<String, String> config() {
            return Map.of("pgrouter.sinks.email.from", "Acme <hello@example.com>");
        }
    }

    private static final Duration WAIT = Duration.ofSeconds(30);

    private static RabbitConsumer queue(String name, String bindingKey) throws Exception {
        return RabbitConsumer.on(RabbitMqResource.broker.url(), "saas", "topic", name, false, bindingKey, null).consume(name);
    }

    static long newUser(String name) {
        return Long.parseLong(Sql.text("INSERT INTO saas.users (email, name) VALUES ('" + UUID.randomUUID() + "@example.com', '" + name + "') RETURNING id"));
    }

    /** The emails the user's address received. */
    static List<MimeMessage> inbox(long user) {
        return SmtpServer.inbox(Sql.text("SELECT email FROM saas.users WHERE id = " + user));
    }

    static List<JsonNode> of(RabbitConsumer queue, long user) {
        return queue.received.stream().filter(m -> String.valueOf(user).equals(m.header("ce_subject"))).map(m -> {
            try {
                return CanonicalEvent.JSON.readTree(m.body());
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }).toList();
    }

    @Test
    void aNewUserIsWelcomedExportedOncePerRequestAndEveryChangeIsAuditedWithOldAndNewValues() throws Exception {
        try (RabbitConsumer exports = queue("export-jobs", "jobs.export"); RabbitConsumer audit = queue("audit-log", "audit.users.*")) {
            long user = newUser("Ada");
            Sql.exec("UPDATE saas.users SET export_requested = true WHERE id = " + user);
            Sql.exec("UPDATE saas.users SET export_requested = true, plan = 'pro' WHERE id = " + user); // still requested: no second job
            Sql.exec("UPDATE saas.users SET last_seen_at = now() WHERE id = " + user);                  // a login: not audited
            Sql.exec("UPDATE saas.users SET export_requested = false WHERE id = " + user);              // export done
            Sql.exec("UPDATE saas.users SET export_requested = true WHERE id = " + user);               // asked again: a second job

            // one channel per route keeps a subject's messages in commit order: once the last is in, nothing is behind it
            await().atMost(WAIT).until(() -> of(exports, user).size() >= 2 && of(audit, user).size() >= 5 && !inbox(user).isEmpty());
            // one welcome email, not one more for any of the five updates
            assertThat(inbox(user)).hasSize(1);
            MimeMessage welcome = inbox(user).get(0);
            assertThat(welcome.getFrom()[0].toString()).isEqualTo("Acme <hello@example.com>");
            assertThat(welcome.getSubject()).isEqualTo("Welcome, Ada!");
            assertThat(welcome.getContent().toString().replace("\r\n", "\n")).startsWith("Hello Ada,\n\nwelcome aboard!")
                    .contains("Your account " + Sql.text("SELECT email FROM saas.users WHERE id = " + user) + " is ready on the free plan.");
            assertThat(of(exports, user)).hasSize(2).allSatisfy(e -> assertThat(e.at("/data/changed").toString()).isEqualTo("[\"export_requested\"]"));
            assertThat(of(audit, user)).extracting(e -> e.path("pgop").asText() + " " + e.at("/data/changed"))
                    .containsExactly("insert [\"id\",\"email\",\"name\",\"plan\",\"export_requested\",\"created_at\",\"last_seen_at\"]",
                            "update [\"export_requested\"]", "update [\"plan\"]", "update [\"export_requested\"]", "update [\"export_requested\"]");
            JsonNode requested = of(audit, user).get(1);
            assertThat(requested.at("/data/before/export_requested").asBoolean()).isFalse();
            assertThat(requested.at("/data/after/export_requested").asBoolean()).isTrue();
        }
    }

    @Test
    void aMarkedMigrationWelcomesNobodyAndIsAuditedOnItsOwnKey() throws Exception {
        try (RabbitConsumer exports = queue("export-jobs-2", "jobs.export"); RabbitConsumer audit = queue("audit-log-2", "audit.users.*");
                RabbitConsumer migration = queue("audit-migration", "audit.migration.#")) {
            List<Long> imported = new ArrayList<>();
            try (Connection c = TestServers.db.connect(); Statement s = c.createStatement()) {
                c.setAutoCommit(false);
                s.execute("SELECT pg_logical_emit_message(true, 'pgrouter.skip', 'migration 7: import accounts')");
                try (ResultSet rs = s.executeQuery("INSERT INTO saas.users (email, name, export_requested) SELECT 'imported-' || g || '-' || gen_random_uuid() || '@example.com', "
                        + "'imported ' || g, true FROM generate_series(1, 3) g RETURNING id")) {
                    while (rs.next()) imported.add(rs.getLong(1));
                }
                s.execute("UPDATE saas.users SET plan = 'legacy' WHERE name LIKE 'imported %'");
                c.commit();
            }
            long after = newUser("Grace"); // the next ordinary transaction

            await().atMost(WAIT).until(() -> !inbox(after).isEmpty() && !of(audit, after).isEmpty());
            await().atMost(WAIT).until(() -> imported.stream().mapToInt(id -> of(migration, id).size()).sum() >= 6);
            for (long id : imported) {
                assertThat(inbox(id)).isEmpty();
                assertThat(of(exports, id)).isEmpty();
                assertThat(of(audit, id)).isEmpty();
                assertThat(of(migration, id)).extracting(e -> e.path("pgop").asText()).containsExactly("insert", "update");
            }
            assertThat(of(migration, after)).isEmpty();
            assertThat(inbox(after)).as("the next ordinary user is welcomed once").hasSize(1);
        }
    }
}
