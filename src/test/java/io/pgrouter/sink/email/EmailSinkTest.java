package io.pgrouter.sink.email;

import static io.pgrouter.testing.SmtpServer.inbox;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import jakarta.inject.Inject;
import jakarta.mail.Message;
import jakarta.mail.internet.MimeMessage;
import jakarta.mail.internet.MimeMultipart;

import org.apache.camel.ProducerTemplate;
import org.junit.jupiter.api.Test;

import io.pgrouter.testing.EmailProfile;
import io.pgrouter.testing.RecordedEvents;
import io.pgrouter.testing.SmtpServer;
import io.pgrouter.testing.Sql;
import io.pgrouter.testing.TestServers;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;

/**
 * The email sink against a real SMTP server in the test JVM (GreenMail) and the suite's PostgreSQL: what the
 * recipients receive, once per event even when it is delivered again, subscribers from a query, a server that is down,
 * and a template that names what the event lacks.
 */
@QuarkusTest
@TestProfile(EmailProfile.class)
@QuarkusTestResource(value = TestServers.class, restrictToAnnotatedClass = false)
class EmailSinkTest {

    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final AtomicInteger IDS = new AtomicInteger(7000);

    @Inject
    ProducerTemplate producer;

    @Inject
    RecordedEvents recorded;

    @Test
    void eachNewUserGetsOneWelcomeEmailFromTheTemplates() throws Exception {
        int ann = IDS.incrementAndGet(), bob = IDS.incrementAndGet();
        Sql.exec("INSERT INTO test.email_users VALUES (" + ann + ", 'ann" + ann + "@example.org', 'Ann'), (" + bob + ", 'bob" + bob
                + "@example.org', 'Bob <the builder>')");
        await().atMost(WAIT).until(() -> inbox("ann" + ann + "@example.org").size() == 1 && inbox("bob" + bob + "@example.org").size() == 1);
        MimeMessage m = inbox("ann" + ann + "@example.org").get(0);
        assertThat(m.getFrom()[0].toString()).isEqualTo("Shop <shop@example.com>");
        assertThat(m.getSubject()).isEqualTo("Welcome, Ann!");
        MimeMultipart parts = (MimeMultipart) m.getContent();
        assertThat(parts.getContentType()).startsWith("multipart/alternative");
        assertThat(parts.getBodyPart(0).getContent().toString().replace("\r\n", "\n"))
                .isEqualTo("Hello Ann (user #" + ann + "),\nyour account ann" + ann + "@example.org is ready.");
        assertThat(parts.getBodyPart(1).getContentType()).startsWith("text/html");
        assertThat(parts.getBodyPart(1).getContent().toString()).isEqualTo("<p>Hello <b>Ann</b></p>");
        // values are escaped in the HTML body, not in the subject or the text
        MimeMultipart bobs = (MimeMultipart) inbox("bob" + bob + "@example.org").get(0).getContent();
        assertThat(inbox("bob" + bob + "@example.org").get(0).getSubject()).isEqualTo("Welcome, Bob <the builder>!");
        assertThat(bobs.getBodyPart(1).getContent().toString()).isEqualTo("<p>Hello <b>Bob &lt;the builder&gt;</b></p>");
    }

    @Test
    void theSameEventDeliveredAgainSendsNoSecondEmail() throws Exception {
        int id = IDS.incrementAndGet();
        String address = "carol" + id + "@example.org";
        Sql.exec("INSERT INTO test.email_users VALUES (" + id + ", '" + address + "', 'Carol')");
        await().atMost(WAIT).until(() -> inbox(address).size() == 1);
        List<RecordedEvents.Event> again = recorded.events().stream().filter(e -> String.valueOf(id).equals(e.headers().get("ceSubject"))).toList();
        assertThat(again).hasSize(1);
        // the same event (same id) through the same sink, as after a crash before the WAL position was stored
        producer.sendBodyAndHeaders("direct:welcome-email", again.get(0).body(), again.get(0).headers());
        producer.sendBodyAndHeaders("direct:welcome-email", again.get(0).body(), again.get(0).headers());
        assertThat(inbox(address)).hasSize(1);
        assertThat(Sql.count("SELECT count(*) FROM pgrouter.sent_emails WHERE recipient = '" + address + "' AND event_id = '"
                + again.get(0).headers().get("ceId") + "'")).isEqualTo(1);
    }

    @Test
    void aNewProductIsEmailedToEachSubscriberOfItsCategory() throws Exception {
        int id = IDS.incrementAndGet();
        String category = "lamps-" + id, other = "rugs-" + id;
        Sql.exec("INSERT INTO marketplace.categories VALUES ('" + category + "', 'Lamps'), ('" + other + "', 'Rugs')",
                "INSERT INTO marketplace.subscriptions (buyer_email, category) VALUES ('a" + id + "@example.org', '" + category + "'), ('b" + id
                        + "@example.org', '" + category + "'), ('c" + id + "@example.org', '" + category + "'), ('d" + id + "@example.org', '" + other + "')",
                "INSERT INTO test.email_products VALUES (" + id + ", '" + category + "', 'Desk lamp', 24.50)");
        await().atMost(WAIT).until(() -> List.of("a", "b", "c").stream().allMatch(p -> inbox(p + id + "@example.org").size() == 1));
        for (String p : List.of("a", "b", "c")) {
            MimeMessage m = inbox(p + id + "@example.org").get(0);
            assertThat(m.getSubject()).isEqualTo("New in " + category + ": Desk lamp");
            assertThat(m.getContent().toString()).isEqualTo("Desk lamp is listed at 24.50 EUR.");
            assertThat(m.getRecipients(Message.RecipientType.TO)).as("each subscriber alone").hasSize(1);
        }
        assertThat(inbox("d" + id + "@example.org")).as("subscribed to another category").isEmpty();
    }

    /**
     * A subscriber whose address is not one: the others are sent to and the event goes to dead letters naming it; once
     * the subscription is fixed, the replayed event (same id) reaches only the one who was missed.
     */
    @Test
    void aRefusedRecipientIsDeadLetteredAndTheReplaySendsOnlyToWhoWasMissed() throws Exception {
        int id = IDS.incrementAndGet();
        String category = "tents-" + id;
        Sql.exec("INSERT INTO marketplace.categories VALUES ('" + category + "', 'Tents')",
                "INSERT INTO marketplace.subscriptions (buyer_email, category) VALUES ('e" + id + "@example.org', '" + category + "'), ('f" + id
                        + "@example.org', '" + category + "'), ('g" + id + "-at-example.org', '" + category + "')",
                "INSERT INTO test.email_products VALUES (" + id + ", '" + category + "', 'Tent', 99)");
        String deadLetter = "SELECT %s FROM pgrouter.dead_letters WHERE route_id = 'wal-email-products-to-subscribers' AND event->>'subject' = '" + id + "'";
        await().atMost(WAIT).until(() -> Sql.count(deadLetter.formatted("count(*)")) == 1);
        assertThat(Sql.text(deadLetter.formatted("error"))).contains("'g" + id + "-at-example.org' is not an email address");
        assertThat(inbox("e" + id + "@example.org")).hasSize(1);
        assertThat(inbox("f" + id + "@example.org")).hasSize(1);
        Sql.exec("UPDATE marketplace.subscriptions SET buyer_email = 'g" + id + "@example.org' WHERE buyer_email = 'g" + id + "-at-example.org'",
                "UPDATE pgrouter.dead_letters SET replay_requested_at = now() WHERE route_id = 'wal-email-products-to-subscribers' AND event->>'subject' = '"
                        + id + "'");
        await().atMost(WAIT).until(() -> Sql.count(deadLetter.formatted("count(*)") + " AND replayed_at IS NOT NULL") == 1);
        assertThat(inbox("g" + id + "@example.org")).hasSize(1);
        assertThat(inbox("e" + id + "@example.org")).as("already sent before the replay").hasSize(1);
        assertThat(inbox("f" + id + "@example.org")).as("already sent before the replay").hasSize(1);
    }

    @Test
    void eventsWaitInTheRetryStoreWhileTheServerIsDownAndAreSentWhenItIsBack() throws Exception {
        int first = IDS.addAndGet(3) - 2;
        SmtpServer.stopServer();
        try {
            for (int i = first; i < first + 3; i++) Sql.exec("INSERT INTO test.email_outage VALUES (" + i + ", 'h" + i + "@example.org')");
            // the retry store's table is made when the first event is parked
            await().atMost(WAIT).ignoreExceptions().until(() -> Sql.count("SELECT count(*) FROM pgrouter.retries WHERE sink_key LIKE 'email-sink:%' AND subject IN ('"
                    + first + "', '" + (first + 1) + "', '" + (first + 2) + "')") == 3);
        } finally {
            SmtpServer.startServer();
        }
        await().atMost(WAIT).until(() -> inbox("h" + first + "@example.org").size() == 1 && inbox("h" + (first + 1) + "@example.org").size() == 1
                && inbox("h" + (first + 2) + "@example.org").size() == 1);
        await().atMost(WAIT).until(() -> Sql.count("SELECT count(*) FROM pgrouter.retries WHERE sink_key LIKE 'email-sink:%'") == 0);
        assertThat(inbox("h" + first + "@example.org").get(0).getSubject()).isEqualTo("Outage " + first);
    }

    @Test
    void aTemplateNameTheEventLacksDeadLettersTheEventNamingTemplateAndExpression() throws Exception {
        int id = IDS.incrementAndGet();
        Sql.exec("INSERT INTO test.email_broken VALUES (" + id + ", 'i" + id + "@example.org')");
        String deadLetter = "SELECT %s FROM pgrouter.dead_letters WHERE route_id = 'wal-email-broken-to-email' AND event->>'subject' = '" + id + "'";
        await().atMost(WAIT).until(() -> Sql.count(deadLetter.formatted("count(*)")) == 1);
        assertThat(Sql.text(deadLetter.formatted("error"))).contains("email-sink subject template (line 1): the event has no value for {data.after.order_no}",
                "{data.after.order_no ?: 'default'}");
        assertThat(Sql.text(deadLetter.formatted("sink"))).isEqualTo("email-sink");
        assertThat(inbox("i" + id + "@example.org")).isEmpty();
    }
}
