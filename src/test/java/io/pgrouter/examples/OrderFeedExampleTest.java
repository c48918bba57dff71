package io.pgrouter.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;

import io.pgrouter.demo.WebhookReceiver.Delivery;
import io.pgrouter.event.CanonicalEvent;
import io.pgrouter.testing.ExampleProfile;
import io.pgrouter.testing.Sql;
import io.pgrouter.testing.TestServers;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;

/**
 * {@code examples/order-feed}: its SQL and both routes against real PostgreSQL and a real HTTP receiver. Systems upsert
 * their columns of one order row; each rule exception reaches the alerting webhook exactly once, at once from the
 * route's rules and in batches from the feedback table; a no-op upsert and a status moving forward raise nothing.
 */
@QuarkusTest
@TestProfile(OrderFeedExampleTest.Profile.class)
@QuarkusTestResource(value = TestServers.class, restrictToAnnotatedClass = false)
class OrderFeedExampleTest {

    public static class Profile extends ExampleProfile {
        @Override
        protected List<String> folders() {
            return List.of("examples/order-feed", "examples/order-feed/persisted");
        }
    }

    private static final Duration WAIT = Duration.ofSeconds(30);

    /** What one system of the feed does: upserts its columns of the order (and the time it wrote them). */
    static void upsert(String order, String system, String columns, String values) {
        Sql.exec("INSERT INTO orderfeed.orders (id, " + columns + ", updated_by) VALUES ('" + order + "', " + values + ", '" + system + "') "
                + "ON CONFLICT (id) DO UPDATE SET (" + columns + ", updated_by, updated_at) = ROW(" + excluded(columns) + ", EXCLUDED.updated_by, now())");
    }

    private static String excluded(String columns) {
        return String.join(", ", java.util.Arrays.stream(columns.split(",")).map(c -> "EXCLUDED." + c.trim()).toList());
    }

    /**
     * One order through the feed: 3 rule exceptions (the amount crossing the limit once, the status going back twice)
     * among upserts that repeat the same values, touch other systems' columns and move the status forward.
     */
    static String orderThroughTheFeed() {
        String order = "SO-" + UUID.randomUUID();
        upsert(order, "shop", "customer, amount, currency", "'c-17', 120, 'EUR'");
        upsert(order, "shop", "customer, amount, currency", "'c-17', 120, 'EUR'");   // the same message again: no-op
        upsert(order, "payment", "status, payment_ref", "'paid', 'pay-1'");           // forward
        upsert(order, "shop", "amount", "12000");                                     // exception: over the limit
        upsert(order, "shop", "amount", "12000");                                     // no-op: still over, no second alert
        upsert(order, "warehouse", "status, carrier", "'shipped', 'DHL'");            // forward, amount unchanged
        upsert(order, "payment", "status, payment_ref", "'paid', 'pay-1'");           // exception: shipped -> paid
        upsert(order, "payment", "status, payment_ref", "'paid', 'pay-1'");           // no-op
        upsert(order, "warehouse", "status, tracking_no", "'delivered', 'T-9'");      // forward
        upsert(order, "warehouse", "status", "'shipped'");                            // exception: delivered -> shipped
        return order;
    }

    static List<Delivery> alerts(String order) {
        return TestServers.webhook.deliveries("/webhook").stream().filter(d -> d.body().startsWith("{") && d.body().contains("\"subject\":\"" + order + "\""))
                .toList();
    }

    static JsonNode json(String text) {
        try {
            return CanonicalEvent.JSON.readTree(text);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void eachRuleExceptionReachesTheAlertingWebhookOnceAndANoOpUpsertNone() {
        String order = orderThroughTheFeed();
        // a new order already over the limit alerts once, however often it is upserted again
        String big = "SO-" + UUID.randomUUID();
        upsert(big, "shop", "customer, amount, currency", "'c-18', 50000, 'EUR'");
        upsert(big, "shop", "customer, amount, currency", "'c-18', 50000, 'EUR'");
        upsert(big, "shop", "amount", "60000");
        upsert(big, "payment", "status", "'paid'");
        upsert(big, "payment", "status", "'placed'");                                 // the last one: status back

        // each subject's events arrive in commit order: once its last alert is in, nothing else is on its way
        await().atMost(WAIT).until(() -> alerts(order).size() >= 3 && alerts(big).size() >= 2);
        assertThat(alerts(order)).extracting(d -> d.header("Alert-Rule")).containsExactly("amount-over-limit", "status-backwards", "status-backwards");
        assertThat(alerts(order)).extracting(d -> json(d.body()).at("/data/after/amount").decimalValue().intValue()).containsOnly(12000);
        assertThat(alerts(order).subList(1, 3)).extracting(d -> json(d.body()).at("/data/before/status").asText() + "->" + json(d.body()).at("/data/after/status").asText())
                .containsExactly("shipped->paid", "delivered->shipped");
        assertThat(alerts(big)).extracting(d -> d.header("Alert-Rule")).containsExactly("amount-over-limit", "status-backwards");
        assertThat(alerts(big).get(0).body()).contains("\"type\":\"postgres.row.insert\"");
    }

    @Test
    void thePersistedAlternativeHandsEachExceptionOnOnceInBatches() {
        String order = orderThroughTheFeed();
        assertThat(Sql.count("SELECT count(*) FROM orderfeed.order_exceptions WHERE order_id = '" + order + "'")).isEqualTo(3);

        await().atMost(WAIT).until(() -> exceptions(order).size() >= 3);
        List<JsonNode> rows = exceptions(order);
        assertThat(rows).extracting(r -> r.path("rule").asText()).containsExactly("amount-over-limit", "status-backwards", "status-backwards");
        assertThat(rows).extracting(r -> r.path("id").asLong()).doesNotHaveDuplicates();
        JsonNode detail = rows.get(2).path("detail");
        assertThat(detail.path("from").asText() + "->" + detail.path("to").asText() + " by " + detail.path("by").asText()).isEqualTo("delivered->shipped by warehouse");
    }

    /** The new rows of the feedback table for one order, from every batch the receiver got. */
    static List<JsonNode> exceptions(String order) {
        List<JsonNode> rows = new ArrayList<>();
        for (Delivery d : TestServers.webhook.deliveries("/webhook")) {
            if (!d.body().startsWith("[")) continue;
            assertThat(d.header("Content-Type")).startsWith("application/cloudevents-batch+json");
            for (JsonNode event : json(d.body())) {
                if (order.equals(event.at("/data/after/order_id").asText())) rows.add(event.at("/data/after"));
            }
        }
        return rows;
    }
}
