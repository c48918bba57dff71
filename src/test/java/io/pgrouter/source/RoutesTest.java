package io.pgrouter.source;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.UUID;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;

import io.pgrouter.event.CanonicalEvent;
import io.pgrouter.source.wal.WalSource;
import io.pgrouter.testing.Lake;
import io.pgrouter.testing.Sql;
import io.pgrouter.testing.TestServers;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/** The demo routes in routes/ against a real PostgreSQL, a real HTTP receiver and the lake on disk. */
@QuarkusTest
@QuarkusTestResource(value = TestServers.class, restrictToAnnotatedClass = false)
class RoutesTest {

    private static final Duration WAIT = Duration.ofSeconds(20);

    @Inject
    WalSource wal;

    /** What the demo routes delivered (other test routes use other paths of the same receiver). */
    static List<JsonNode> webhookEvents() {
        return TestServers.webhook.deliveries("/webhook").stream().map(d -> parse(d.body())).toList();
    }

    static JsonNode parse(String body) {
        try {
            return CanonicalEvent.JSON.readTree(body);
        } catch (Exception e) {
            throw new IllegalStateException(body, e);
        }
    }

    /** Lake rows whose column has this value. */
    static List<JsonNode> withColumn(List<JsonNode> rows, String column, String value) {
        return rows.stream().filter(r -> value.equals(r.path(column).asText())).toList();
    }

    static List<JsonNode> withSubject(List<JsonNode> events, String subject) {
        return events.stream().filter(e -> subject.equals(e.path("subject").asText())).toList();
    }

    @Test
    void aNewProductIsEmailedToEachSubscriberOfItsCategoryOnce() throws Exception {
        String buyer = "buyer-" + UUID.randomUUID() + "@example.com", other = "other-" + UUID.randomUUID() + "@example.com";
        Sql.exec("INSERT INTO marketplace.subscriptions (buyer_email, category) VALUES ('" + buyer + "', 'garden'), ('" + other + "', 'music')");
        String title = "planter-" + UUID.randomUUID();
        Sql.exec("INSERT INTO marketplace.products (seller_id, category, title, price) VALUES (1, 'garden', '" + title + "', 49.90)");
        String id = String.valueOf(Sql.count("SELECT id FROM marketplace.products WHERE title = '" + title + "'"));
        Sql.exec("UPDATE marketplace.products SET price = 39.90 WHERE id = " + id);
        await().atMost(WAIT).until(() -> mailsTo(buyer).size() == 1);
        jakarta.mail.internet.MimeMessage mail = mailsTo(buyer).get(0);
        assertThat(mail.getSubject()).isEqualTo("New in garden: " + title);
        assertThat(com.icegreen.greenmail.util.GreenMailUtil.getBody(mail)).contains(title + " is listed at 49.90");
        // the update (a re-price) mails nobody; the subscriber of another category gets nothing
        await().during(Duration.ofSeconds(2)).atMost(WAIT).until(() -> mailsTo(buyer).size() == 1 && mailsTo(other).isEmpty());
    }

    static List<jakarta.mail.internet.MimeMessage> mailsTo(String address) throws Exception {
        List<jakarta.mail.internet.MimeMessage> mails = new java.util.ArrayList<>();
        for (jakarta.mail.internet.MimeMessage m : TestServers.smtp.getReceivedMessages()) {
            for (jakarta.mail.Address a : m.getAllRecipients()) if (a.toString().contains(address)) mails.add(m);
        }
        return mails;
    }

    @Test
    void walInsertUpdateDeleteReachTheLakeAndTheWebhookWithBeforeAndAfter() {
        String title = "walrus-" + UUID.randomUUID();
        Sql.exec("INSERT INTO marketplace.products (seller_id, category, title, price, tags, attributes) "
                + "VALUES (1, 'books', '" + title + "', 12.50, '{a,b}', '{\"pages\": 320}')");
        String id = String.valueOf(Sql.count("SELECT id FROM marketplace.products WHERE title = '" + title + "'"));
        Sql.exec("UPDATE marketplace.products SET price = 9.99 WHERE id = " + id);
        Sql.exec("UPDATE marketplace.products SET updated_at = now() + interval '1 second' WHERE id = " + id);
        Sql.exec("DELETE FROM marketplace.products WHERE id = " + id);

        await().atMost(WAIT).until(() -> withColumn(Lake.rows("marketplace.products"), "id", id).size() == 4);
        List<JsonNode> lake = withColumn(Lake.rows("marketplace.products"), "id", id);
        assertThat(lake).extracting(e -> e.get("_op").asText()).containsExactly("insert", "update", "update", "delete");
        JsonNode insert = lake.get(0);
        assertThat(insert.get("_event_id").asText()).endsWith(":marketplace.products:" + id);
        assertThat(insert.get("_lsn").isIntegralNumber()).isTrue();
        assertThat(java.time.Instant.parse(insert.get("_commit_time").asText())).isBefore(java.time.Instant.now());
        assertThat(insert.get("title").asText()).isEqualTo(title);
        assertThat(insert.get("price").decimalValue()).isEqualByComparingTo("12.50");
        assertThat(insert.get("tags").toString()).isEqualTo("[\"a\",\"b\"]");
        assertThat(insert.at("/attributes/pages").asInt()).isEqualTo(320);
        JsonNode priceUpdate = lake.get(1);
        assertThat(priceUpdate.get("price").decimalValue()).isEqualByComparingTo("9.99");
        assertThat(priceUpdate.get("_changed").toString()).isEqualTo("[\"price\"]");
        assertThat(priceUpdate.get("_lsn").asLong()).isGreaterThan(insert.get("_lsn").asLong());
        assertThat(lake.get(2).get("_changed").toString()).isEqualTo("[\"updated_at\"]");
        JsonNode delete = lake.get(3);
        assertThat(delete.get("title").asText()).as("a delete carries the old row (REPLICA IDENTITY FULL)").isEqualTo(title);

        // the webhook route drops the update that touched only updated_at
        await().atMost(WAIT).until(() -> withSubject(webhookEvents(), id).size() == 3);
        List<JsonNode> hooks = withSubject(webhookEvents(), id);
        assertThat(hooks).extracting(e -> e.get("type").asText())
                .containsExactly("postgres.row.insert", "postgres.row.update", "postgres.row.delete");
        assertThat(hooks).extracting(e -> e.get("id").asText()).containsExactly(lake.get(0).get("_event_id").asText(),
                lake.get(1).get("_event_id").asText(), lake.get(3).get("_event_id").asText());
        assertThat(hooks.get(1).at("/data/after/price").decimalValue()).isEqualByComparingTo("9.99");
        assertThat(TestServers.webhook.deliveries().get(0).headers().get("Content-type"))
                .anySatisfy(v -> assertThat(v).startsWith("application/cloudevents+json"));
    }

    @Test
    void notifyReachesTheLakeAndTheWebhookAsARowEvent() {
        String buyer = "n-" + UUID.randomUUID() + "@example.com";
        Sql.exec("INSERT INTO marketplace.subscriptions (buyer_email, category) VALUES ('" + buyer + "', 'garden')");
        String subject = "buyer_email=" + buyer + ",category=garden";
        await().atMost(WAIT).until(() -> withSubject(webhookEvents(), subject).size() == 1);
        JsonNode hook = withSubject(webhookEvents(), subject).get(0);
        assertThat(hook.get("type").asText()).isEqualTo("postgres.row.insert");
        assertThat(hook.get("pgchannel").asText()).isEqualTo("subscriptions");
        assertThat(hook.at("/data/after/buyer_email").asText()).isEqualTo(buyer);
        await().atMost(WAIT).until(() -> withColumn(Lake.rows("marketplace.subscriptions"), "buyer_email", buyer).size() == 1);
        assertThat(withColumn(Lake.rows("marketplace.subscriptions"), "buyer_email", buyer).get(0).get("_event_id")).isEqualTo(hook.get("id"));
    }

    @Test
    void aNotificationThatIsNotJsonBecomesAStringEvent() {
        String text = "plain text " + UUID.randomUUID();
        Sql.exec("NOTIFY subscriptions, '" + text + "'");
        await().atMost(WAIT).until(() -> webhookEvents().stream().anyMatch(e -> text.equals(e.path("data").asText())));
        JsonNode event = webhookEvents().stream().filter(e -> text.equals(e.path("data").asText())).findFirst().orElseThrow();
        assertThat(event.get("type").asText()).isEqualTo("postgres.notify");
        assertThat(event.get("source").asText()).isEqualTo("/postgres/postgres/notify/subscriptions");
        assertThat(event.get("data").isTextual()).isTrue();
    }

    @Test
    void aMalformedTriggerPayloadIsKeptAsADeadLetterAndLaterNotificationsStillFlow() {
        String bad = "{\"pgrouter\": 1, \"table\": \"products\", \"op\": \"explode\", \"n\": \"" + UUID.randomUUID() + "\"}";
        Sql.exec("NOTIFY subscriptions, '" + bad + "'");
        String after = "after-bad " + UUID.randomUUID();
        Sql.exec("NOTIFY subscriptions, '" + after + "'");
        await().atMost(WAIT).until(() -> webhookEvents().stream().anyMatch(e -> after.equals(e.path("data").asText())));
        await().atMost(WAIT).until(() -> Sql.count("SELECT count(*) FROM pgrouter.dead_letters WHERE route_id = '(source notify/subscriptions)' "
                + "AND event->>'payload' = '" + bad.replace("'", "''") + "' AND error LIKE '%unknown operation ''explode''%'") == 1);
    }

    @Test
    void aRowOverNotifysLimitArrivesWholeThroughTheClaimCheck() {
        String buyer = "big-" + UUID.randomUUID() + "@example.com";
        String note = "x".repeat(12_000);
        Sql.exec("INSERT INTO marketplace.subscriptions (buyer_email, category, note) VALUES ('" + buyer + "', 'music', '" + note + "')");
        String subject = "buyer_email=" + buyer + ",category=music";
        await().atMost(WAIT).until(() -> withSubject(webhookEvents(), subject).size() == 1);
        JsonNode hook = withSubject(webhookEvents(), subject).get(0);
        assertThat(hook.at("/data/after/note").asText()).isEqualTo(note);
        assertThat(hook.has("claim")).isFalse();
    }

    @Test
    void durableMessagesArriveThroughTheSlot() {
        String email = "s-" + UUID.randomUUID() + "@example.com";
        Sql.exec("INSERT INTO marketplace.sellers (name, email) VALUES ('Durable Seller', '" + email + "')");
        String text = "hello " + UUID.randomUUID();
        Sql.exec("SELECT pg_logical_emit_message(true, 'sellers', '" + text + "')");
        await().atMost(WAIT).until(() -> withColumn(Lake.rows("marketplace.sellers"), "email", email).size() == 1);
        JsonNode row = withColumn(Lake.rows("marketplace.sellers"), "email", email).get(0);
        assertThat(row.get("_op").asText()).isEqualTo("insert");
        assertThat(row.get("_lsn").isIntegralNumber()).isTrue();
        await().atMost(WAIT).until(() -> withColumn(Lake.rows("message.sellers"), "data", text).size() == 1);
        JsonNode message = withColumn(Lake.rows("message.sellers"), "data", text).get(0);
        assertThat(message.get("_op").asText()).isEqualTo("message");
        assertThat(message.get("_event_id").asText()).contains(":message:sellers");
    }

    @Test
    void twoRoutesOnOneTableShareOneSlotAndOneListenConnection() {
        await().atMost(WAIT).until(() -> Sql.count("SELECT count(*) FROM pg_replication_slots WHERE active") == 1);
        assertThat(Sql.count("SELECT count(*) FROM pg_replication_slots")).isEqualTo(1);
        assertThat(Sql.count("SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'pgrouter' AND plugin = 'pgoutput'")).isEqualTo(1);
        assertThat(Sql.count("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pg-event-router-listen'")).isEqualTo(1);
    }

    @Test
    void rowsCommittedWhileTheRouterIsStoppedArriveAfterItStarts() {
        String title = "offline-" + UUID.randomUUID();
        wal.stop();
        await().atMost(WAIT).until(() -> Sql.count("SELECT count(*) FROM pg_replication_slots WHERE active") == 0);
        Sql.exec("INSERT INTO marketplace.products (seller_id, category, title, price) VALUES (2, 'garden', '" + title + "', 5)");
        wal.start();
        await().atMost(WAIT).until(() -> webhookEvents().stream().anyMatch(e -> title.equals(e.at("/data/after/title").asText())));
        assertThat(webhookEvents().stream().filter(e -> title.equals(e.at("/data/after/title").asText())).count()).isEqualTo(1);
    }
}
