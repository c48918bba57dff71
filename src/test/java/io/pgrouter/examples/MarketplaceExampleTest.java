package io.pgrouter.examples;

import static io.pgrouter.testing.SmtpServer.inbox;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import jakarta.mail.Message;
import jakarta.mail.internet.MimeMessage;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;

import io.pgrouter.event.CanonicalEvent;
import io.pgrouter.testing.ExampleProfile;
import io.pgrouter.testing.Lake;
import io.pgrouter.testing.OpenSearchServer;
import io.pgrouter.testing.SmtpServer;
import io.pgrouter.testing.Sql;
import io.pgrouter.testing.TestServers;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;

/**
 * {@code examples/marketplace}: its four routes on {@code marketplace.products} against real PostgreSQL, an HTTP
 * receiver (the storefront cache), OpenSearch (the search catalogue), an SMTP server (the category's subscribers'
 * inboxes) and the lake on disk; a seller lists, re-prices, touches and removes a product and each destination holds
 * what its user would look for.
 */
@QuarkusTest
@TestProfile(MarketplaceExampleTest.Profile.class)
@QuarkusTestResource(value = TestServers.class, restrictToAnnotatedClass = false)
class MarketplaceExampleTest {

    public static class Profile extends ExampleProfile {
        @Override
        protected List<String> folders() {
            return List.of("examples/marketplace");
        }

        @Override
        protected List<TestResourceEntry> servers() {
            return List.of(new TestResourceEntry(OpenSearchServer.class), new TestResourceEntry(SmtpServer.class, Map.of(SmtpServer.PREFIX, "pgrouter.sinks.email")),
                    new TestResourceEntry(SinkSettings.class));
        }

        @Override
        protected Map<String, String> config() {
            return Map.of("pgrouter.sinks.email.from", "Marketplace <news@example.com>");
        }
    }

    /** The settings the README asks for, pointing at the test's servers once they run. */
    public static class SinkSettings implements QuarkusTestResourceLifecycleManager {
        @Override
        public int order() {
            return 100;
        }

        @Override
        public Map<String, String> start() {
            return Map.of("pgrouter.sinks.search.urls", OpenSearchServer.url());
        }

        @Override
        public void stop() {
        }
    }

    private static final Duration WAIT = Duration.ofSeconds(60);

    static JsonNode json(String text) {
        try {
            return CanonicalEvent.JSON.readTree(text);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** What the storefront cache was told about the product, in order: operation and changed columns. */
    static List<String> cacheRefreshes(long id) {
        return TestServers.webhook.deliveries("/webhook").stream().map(d -> json(d.body())).filter(e -> String.valueOf(id).equals(e.path("subject").asText()))
                .map(e -> e.path("pgop").asText() + " " + e.at("/data/changed")).toList();
    }

    /** The product's document in the search catalogue, or a missing node. */
    static JsonNode document(long id) {
        OpenSearchServer.json("POST", "/marketplace-products/_refresh", null);
        JsonNode hits = OpenSearchServer.json("POST", "/marketplace-products/_search", "{\"query\": {\"ids\": {\"values\": [\"" + id + "\"]}}}");
        return hits.at("/hits/hits/0/_source");
    }

    static boolean indexExists() {
        return OpenSearchServer.json("GET", "/_cat/indices?format=json", null).findValuesAsText("index").contains("marketplace-products");
    }

    static List<JsonNode> lake(long id) {
        return Lake.rows("marketplace.products").stream().filter(r -> r.path("id").asLong() == id).toList();
    }

    /** Every email whose subject names the product. */
    static List<MimeMessage> emailsAbout(String title) {
        return Arrays.stream(SmtpServer.server().getReceivedMessages()).filter(m -> {
            try {
                return m.getSubject().contains(title);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }).toList();
    }

    @Test
    void aListingReachesTheCacheTheSearchCatalogueTheCategorySubscribersAndTheLake() throws Exception {
        String token = UUID.randomUUID().toString();
        String ann = "ann-" + token + "@example.com", bob = "bob-" + token + "@example.com", cy = "cy-" + token + "@example.com";
        Sql.exec("INSERT INTO marketplace.subscriptions (buyer_email, category) VALUES ('" + ann + "', 'garden'), ('" + bob + "', 'garden'), ('" + cy + "', 'books')");
        int gardenSubscribers = Integer.parseInt(Sql.text("SELECT count(*) FROM marketplace.subscriptions WHERE category = 'garden'"));

        String title = "Cedar planter " + token;
        long id = Long.parseLong(Sql.text("INSERT INTO marketplace.products (seller_id, category, title, price, tags, attributes) "
                + "VALUES ((SELECT min(id) FROM marketplace.sellers), 'garden', '" + title + "', 49.90, '{wood,outdoor}', '{\"size\": \"L\"}') RETURNING id"));

        // listed: the cache refreshed, the catalogue finds it, the category's subscribers are emailed, the lake has the row
        await().atMost(WAIT).until(() -> !cacheRefreshes(id).isEmpty());
        await().atMost(WAIT).until(() -> indexExists() && document(id).path("title").asText().equals(title));
        JsonNode doc = document(id);
        assertThat(doc.path("price").decimalValue()).isEqualByComparingTo("49.90");
        assertThat(doc.has("listed")).isTrue();
        assertThat(doc.has("seller_id")).isFalse();
        await().atMost(WAIT).until(() -> inbox(ann).size() == 1 && inbox(bob).size() == 1);
        for (String subscriber : List.of(ann, bob)) {
            MimeMessage m = inbox(subscriber).get(0);
            assertThat(m.getFrom()[0].toString()).isEqualTo("Marketplace <news@example.com>");
            assertThat(m.getRecipients(Message.RecipientType.TO)).as("each subscriber on a message of their own").hasSize(1);
            assertThat(m.getSubject()).isEqualTo("New in garden: " + title);
            assertThat(m.getContent().toString()).isEqualTo(title + " is now listed in garden at 49.90.");
        }
        await().atMost(WAIT).until(() -> !lake(id).isEmpty());

        // re-priced, touched (only updated_at), renamed, removed
        Sql.exec("UPDATE marketplace.products SET price = 39.90, updated_at = now() WHERE id = " + id);
        Sql.exec("UPDATE marketplace.products SET updated_at = now() + interval '1 minute' WHERE id = " + id);
        Sql.exec("UPDATE marketplace.products SET title = '" + title + ", large' WHERE id = " + id);
        await().atMost(WAIT).until(() -> document(id).path("title").asText().equals(title + ", large"));
        assertThat(document(id).path("price").decimalValue()).isEqualByComparingTo("39.90");
        Sql.exec("DELETE FROM marketplace.products WHERE id = " + id);

        await().atMost(WAIT).until(() -> cacheRefreshes(id).size() >= 4 && lake(id).size() >= 5);
        assertThat(cacheRefreshes(id)).containsExactly("insert [\"id\",\"seller_id\",\"category\",\"title\",\"description\",\"price\",\"tags\",\"attributes\",\"listed_at\",\"updated_at\"]",
                "update [\"price\",\"updated_at\"]", "update [\"title\"]", "delete []");
        assertThat(lake(id)).extracting(r -> r.path("_op").asText()).containsExactly("insert", "update", "update", "update", "delete");
        await().atMost(WAIT).until(() -> document(id).isMissingNode());
        // one email per subscriber of the category for the new listing; its re-price, rename and removal email nobody
        assertThat(emailsAbout(title)).hasSize(gardenSubscribers);
        assertThat(inbox(ann)).hasSize(1);
        assertThat(inbox(bob)).hasSize(1);
        assertThat(inbox(cy)).as("subscribed to another category").isEmpty();
    }
}
