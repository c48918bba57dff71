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

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.pgrouter.demo.WebhookReceiver;
import io.pgrouter.event.CanonicalEvent;
import io.pgrouter.install.TriggerInstaller;
import io.pgrouter.testing.ExampleProfile;
import io.pgrouter.testing.Sql;
import io.pgrouter.testing.TestServers;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;

/**
 * {@code examples/microservices-broker}: rows inserted into an outbox table, turned into durable messages by the
 * trigger {@code bin/pgrouter install} puts there, reach two services (HTTP receivers of their own), each its own copy
 * of every row; a service that refuses connections for a while gets everything once it is back. Rows committed while
 * the router is stopped: {@code MicroservicesBrokerIT}.
 */
@QuarkusTest
@TestProfile(MicroservicesBrokerExampleTest.Profile.class)
@QuarkusTestResource(value = TestServers.class, restrictToAnnotatedClass = false)
class MicroservicesBrokerExampleTest {

    public static class Profile extends ExampleProfile {
        @Override
        protected List<String> folders() {
            return List.of("examples/microservices-broker");
        }

        @Override
        protected List<TestResourceEntry> servers() {
            return List.of(new TestResourceEntry(Services.class));
        }
    }

    /** The two subscribing services: HTTP receivers on ports of their own, so that one can go away and come back. */
    public static class Services implements QuarkusTestResourceLifecycleManager {
        static volatile WebhookReceiver billing, shipping;

        @Override
        public Map<String, String> start() {
            try {
                billing = new WebhookReceiver(0);
                shipping = new WebhookReceiver(0);
            } catch (java.io.IOException e) {
                throw new IllegalStateException(e);
            }
            return Map.of("pgrouter.services.billing.url", billing.url("/events"), "pgrouter.services.shipping.url", shipping.url("/events"));
        }

        @Override
        public void stop() {
            billing.close();
            shipping.close();
        }
    }

    private static final Duration WAIT = Duration.ofSeconds(30);

    @BeforeEach
    void theDurableTriggerIsInstalled() throws Exception {
        try (Connection c = TestServers.db.connect()) {
            TriggerInstaller.install(c, "broker.outbox", TriggerInstaller.Mode.DURABLE, "outbox");
        }
    }

    /** What a service does to publish: insert rows into the outbox (here n of them in one transaction). */
    static List<Long> publish(int n, String topic) throws Exception {
        List<Long> ids = new ArrayList<>();
        try (Connection c = TestServers.db.connect(); Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("INSERT INTO broker.outbox (topic, payload) SELECT '" + topic + "', jsonb_build_object('n', g) "
                        + "FROM generate_series(1, " + n + ") g RETURNING id")) {
            while (rs.next()) ids.add(rs.getLong(1));
        }
        return ids;
    }

    static List<Long> received(WebhookReceiver service, List<Long> ours) {
        return received(service.bodies(), ours);
    }

    /** The outbox ids of ours among these deliveries, one per delivery (a duplicate would show twice). */
    static List<Long> received(List<String> bodies, List<Long> ours) {
        return bodies.stream().map(b -> {
            try {
                return CanonicalEvent.JSON.readTree(b).at("/data/after/id").asLong();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }).filter(ours::contains).toList();
    }

    @Test
    void everyServiceGetsItsOwnCopyOfEveryRow() throws Exception {
        List<Long> ids = publish(10, "order.placed");
        ids.addAll(publish(1, "customer.moved"));
        await().atMost(WAIT).until(() -> received(Services.billing, ids).size() >= ids.size() && received(Services.shipping, ids).size() >= ids.size());
        assertThat(received(Services.billing, ids)).containsExactlyInAnyOrderElementsOf(ids);
        assertThat(received(Services.shipping, ids)).containsExactlyInAnyOrderElementsOf(ids);
        String body = Services.shipping.bodies().stream().filter(b -> b.contains("customer.moved")).findFirst().orElseThrow();
        assertThat(CanonicalEvent.JSON.readTree(body).path("pgchannel").asText()).isEqualTo("outbox");
    }

    @Test
    void aServiceThatIsDownForAWhileMissesNothingAndTheOtherIsNotHeldUp() throws Exception {
        int port = java.net.URI.create(Services.shipping.url("")).getPort();
        Services.shipping.close(); // connections to it are refused from now on
        List<Long> ids = new ArrayList<>();
        for (int i = 0; i < 5; i++) ids.addAll(publish(2, "order.placed"));

        // billing gets everything while shipping is away; shipping's copies wait in the durable retry store
        await().atMost(WAIT).until(() -> received(Services.billing, ids).size() >= ids.size());
        await().atMost(WAIT).until(() -> Sql.count("SELECT count(*) FROM pgrouter.retries WHERE route_id = 'wal-outbox-to-shipping'") == ids.size());

        Services.shipping = new WebhookReceiver(port); // back, on the same address
        await().atMost(WAIT).until(() -> received(Services.shipping, ids).size() >= ids.size());
        assertThat(received(Services.shipping, ids)).containsExactlyInAnyOrderElementsOf(ids);
        assertThat(received(Services.billing, ids)).containsExactlyInAnyOrderElementsOf(ids);
        await().atMost(WAIT).until(() -> Sql.count("SELECT count(*) FROM pgrouter.retries WHERE route_id = 'wal-outbox-to-shipping'") == 0);
    }
}
