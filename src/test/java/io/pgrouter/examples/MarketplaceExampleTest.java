package io.pgrouter.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;

import jakarta.jms.Connection;
import jakarta.jms.Session;
import jakarta.jms.TextMessage;

import org.apache.activemq.artemis.jms.client.ActiveMQConnectionFactory;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;

import io.pgrouter.event.CanonicalEvent;
import io.pgrouter.testing.ExampleProfile;
import io.pgrouter.testing.Lake;
import io.pgrouter.testing.MessageBrokers;
import io.pgrouter.testing.OpenSearchServer;
import io.pgrouter.testing.Sql;
import io.pgrouter.testing.TestServers;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;

/**
 * {@code examples/marketplace}: its four routes on {@code marketplace.products} against real PostgreSQL, an HTTP
 * receiver (the storefront cache), OpenSearch (the search catalogue), ActiveMQ Artemis (the subscribers' notification
 * queue) and the lake on disk; a seller lists, re-prices, touches and removes a product and each destination holds
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
            return List.of(new TestResourceEntry(OpenSearchServer.class), new TestResourceEntry(MessageBrokers.class), new TestResourceEntry(SinkSettings.class));
        }

        @Override
        protected Map<String, String> config() {
            // the embedded broker logs every message it routes at INFO
            return Map.of("quarkus.log.category.\"org.apache.activemq.audit\".level", "WARN",
                    "quarkus.log.category.\"org.apache.activemq.artemis.core.server\".level", "ERROR");
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
            return Map.of("pgrouter.sinks.search.urls", OpenSearchServer.url(), "pgrouter.sinks.jms.url", MessageBrokers.artemisUrl);
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

    @Test
    void aListingReachesTheCacheTheSearchCatalogueTheCategorySubscribersAndTheLake() throws Exception {
        Sql.exec("INSERT INTO marketplace.subscriptions (buyer_email, category) VALUES ('ann@example.com', 'garden') ON CONFLICT DO NOTHING");
        List<JsonNode> newListings = new CopyOnWriteArrayList<>();
        try (Connection jms = new ActiveMQConnectionFactory(MessageBrokers.artemisUrl).createConnection()) {
            jms.start();
            Session session = jms.createSession(false, Session.AUTO_ACKNOWLEDGE);
            session.createConsumer(session.createQueue("marketplace.new-listings")).setMessageListener(m -> {
                try {
                    newListings.add(json(((TextMessage) m).getText()));
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });

            String title = "Cedar planter " + UUID.randomUUID();
            long id = Long.parseLong(Sql.text("INSERT INTO marketplace.products (seller_id, category, title, price, tags, attributes) "
                    + "VALUES ((SELECT min(id) FROM marketplace.sellers), 'garden', '" + title + "', 49.90, '{wood,outdoor}', '{\"size\": \"L\"}') RETURNING id"));

            // listed: the cache refreshed, the catalogue finds it, the category's subscribers are told, the lake has the row
            await().atMost(WAIT).until(() -> !cacheRefreshes(id).isEmpty());
            await().atMost(WAIT).until(() -> indexExists() && document(id).path("title").asText().equals(title));
            JsonNode doc = document(id);
            assertThat(doc.path("price").decimalValue()).isEqualByComparingTo("49.90");
            assertThat(doc.has("listed")).isTrue();
            assertThat(doc.has("seller_id")).isFalse();
            await().atMost(WAIT).until(() -> newListings.stream().anyMatch(e -> e.path("subject").asText().equals(String.valueOf(id))));
            JsonNode listing = newListings.stream().filter(e -> e.path("subject").asText().equals(String.valueOf(id))).findFirst().orElseThrow();
            // what the notifier does with it: the category's subscribers
            assertThat(Sql.text("SELECT string_agg(buyer_email, ',') FROM marketplace.subscriptions WHERE category = '" + listing.at("/data/after/category").asText() + "'"))
                    .contains("ann@example.com");
            assertThat(listing.at("/data/after/title").asText()).isEqualTo(title);
            await().atMost(WAIT).until(() -> !lake(id).isEmpty());

            // re-priced, touched (only updated_at), renamed, removed
            Sql.exec("UPDATE marketplace.products SET price = 39.90, updated_at = now() WHERE id = " + id);
            Sql.exec("UPDATE marketplace.products SET updated_at = now() + interval '1 minute' WHERE id = " + id);
            Sql.exec("UPDATE marketplace.products SET title = 'Cedar planter, large' WHERE id = " + id);
            await().atMost(WAIT).until(() -> document(id).path("title").asText().equals("Cedar planter, large"));
            assertThat(document(id).path("price").decimalValue()).isEqualByComparingTo("39.90");
            Sql.exec("DELETE FROM marketplace.products WHERE id = " + id);

            await().atMost(WAIT).until(() -> cacheRefreshes(id).size() >= 4 && lake(id).size() >= 5);
            assertThat(cacheRefreshes(id)).containsExactly("insert [\"id\",\"seller_id\",\"category\",\"title\",\"description\",\"price\",\"tags\",\"attributes\",\"listed_at\",\"updated_at\"]",
                    "update [\"price\",\"updated_at\"]", "update [\"title\"]", "delete []");
            assertThat(lake(id)).extracting(r -> r.path("_op").asText()).containsExactly("insert", "update", "update", "update", "delete");
            await().atMost(WAIT).until(() -> document(id).isMissingNode());
            // a new listing is announced once; its later changes are not
            assertThat(newListings).filteredOn(e -> e.path("subject").asText().equals(String.valueOf(id))).hasSize(1);
        }
    }
}
