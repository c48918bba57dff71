package io.pgrouter.sink.jms;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;

import jakarta.jms.Connection;
import jakarta.jms.DeliveryMode;
import jakarta.jms.JMSException;
import jakarta.jms.Message;
import jakarta.jms.MessageConsumer;
import jakarta.jms.Session;
import jakarta.jms.TextMessage;

import org.apache.activemq.artemis.jms.client.ActiveMQConnectionFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;

import io.pgrouter.event.CanonicalEvent;
import io.pgrouter.testing.BrokerOutage;
import io.pgrouter.testing.MessageBrokers;
import io.pgrouter.testing.MessageQueuesProfile;
import io.pgrouter.testing.Sql;
import io.pgrouter.testing.TestServers;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;

/** The JMS sink against ActiveMQ Artemis running in this JVM over TCP, checked with a plain JMS consumer. */
@QuarkusTest
@TestProfile(MessageQueuesProfile.class)
@QuarkusTestResource(value = TestServers.class, restrictToAnnotatedClass = false)
class JmsSinkTest {

    private static final Duration WAIT = Duration.ofSeconds(60);

    /** What a consumer got: the message and when, per consumer. */
    record Received(String consumer, String body, Map<String, Object> properties, int deliveryMode) {
        JsonNode event() {
            try {
                return CanonicalEvent.JSON.readTree(body);
            } catch (Exception e) {
                throw new IllegalStateException(body, e);
            }
        }

        String subject() {
            return (String) properties.get("ce_subject");
        }

        int version() {
            return event().path("data").path("after").path("version").asInt();
        }
    }

    private final List<Connection> connections = new ArrayList<>();

    @AfterEach
    void closeConsumers() throws JMSException {
        for (Connection c : connections) c.close();
        connections.clear();
    }

    private Session session() throws JMSException {
        Connection c = new ActiveMQConnectionFactory(MessageBrokers.artemisUrl).createConnection();
        connections.add(c);
        c.start();
        return c.createSession(false, Session.AUTO_ACKNOWLEDGE);
    }

    /** A consumer that records every message it gets into {@code into}. */
    private void listen(String name, boolean topic, String destination, List<Received> into) throws JMSException {
        Session s = session();
        MessageConsumer consumer = s.createConsumer(topic ? s.createTopic(destination) : s.createQueue(destination));
        consumer.setMessageListener(m -> into.add(received(name, m)));
    }

    static Received received(String consumer, Message m) {
        try {
            Map<String, Object> properties = new HashMap<>();
            for (Object name : Collections.list(m.getPropertyNames())) properties.put((String) name, m.getObjectProperty((String) name));
            return new Received(consumer, ((TextMessage) m).getText(), properties, m.getJMSDeliveryMode());
        } catch (JMSException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void queueKeepsEachSubjectsOrderAcrossTwoCompetingConsumers() throws Exception {
        List<Received> got = new CopyOnWriteArrayList<>();
        listen("a", false, "orders", got);
        listen("b", false, "orders", got);
        for (int id = 1; id <= 20; id++) Sql.exec("INSERT INTO test.mq_orders (id, note) VALUES (" + id + ", 'new')");
        for (int round = 0; round < 4; round++) {
            for (int id = 1; id <= 20; id++) Sql.exec("UPDATE test.mq_orders SET version = version + 1 WHERE id = " + id);
        }
        await().atMost(WAIT).until(() -> got.size() >= 100);

        Map<String, List<Received>> bySubject = new LinkedHashMap<>();
        for (Received r : got) bySubject.computeIfAbsent(r.subject(), k -> new ArrayList<>()).add(r);
        assertThat(bySubject).hasSize(20);
        Set<String> consumersUsed = new HashSet<>();
        bySubject.forEach((subject, messages) -> {
            assertThat(messages).extracting(Received::version).as("subject " + subject).containsExactly(1, 2, 3, 4, 5);
            assertThat(messages).extracting(Received::consumer).as("one consumer per subject").containsOnly(messages.get(0).consumer());
            consumersUsed.add(messages.get(0).consumer());
        });
        assertThat(consumersUsed).as("both consumers took part").containsExactlyInAnyOrder("a", "b");

        Received first = bySubject.get("7").get(0);
        JsonNode event = first.event();
        assertThat(event.path("type").asText()).isEqualTo("postgres.row.insert");
        assertThat(event.path("data").path("after").path("note").asText()).isEqualTo("new");
        assertThat(first.deliveryMode()).isEqualTo(DeliveryMode.PERSISTENT);
        assertThat(first.properties()).containsEntry("JMSXGroupID", "7").containsEntry("ce_id", event.path("id").asText())
                .containsEntry("ce_type", "postgres.row.insert").containsEntry("ce_source", event.path("source").asText())
                .containsEntry("ce_subject", "7").containsEntry("ce_time", event.path("time").asText())
                .containsEntry("ce_specversion", "1.0").containsEntry("ce_pgtable", "mq_orders").containsEntry("ce_pgop", "insert");
        assertThat(first.properties()).doesNotContainKey("ce_data");
    }

    @Test
    void topicGivesEverySubscriberOneCopy() throws Exception {
        List<Received> one = new CopyOnWriteArrayList<>();
        List<Received> two = new CopyOnWriteArrayList<>();
        listen("one", true, "news", one);
        listen("two", true, "news", two);
        for (int id = 1; id <= 10; id++) Sql.exec("INSERT INTO test.mq_news (id, note) VALUES (" + id + ", 'n" + id + "')");
        await().atMost(WAIT).until(() -> one.size() >= 10 && two.size() >= 10);
        for (List<Received> subscriber : List.of(one, two)) {
            assertThat(subscriber).extracting(Received::subject).containsExactly("1", "2", "3", "4", "5", "6", "7", "8", "9", "10");
        }
    }

    @Test
    void anAddressTheBrokerRefusesGoesToDeadLettersAndTheStreamMovesOn() throws Exception {
        List<Received> got = new CopyOnWriteArrayList<>();
        listen("a", false, "orders", got);
        Sql.exec("INSERT INTO test.mq_forbidden (id, note) VALUES (1, 'nowhere to go')");
        Sql.exec("INSERT INTO test.mq_orders (id, note) VALUES (500, 'after the refused one')");
        await().atMost(WAIT).until(() -> got.stream().anyMatch(r -> "500".equals(r.subject())));
        await().atMost(WAIT).until(() -> Sql.count("SELECT count(*) FROM pgrouter.dead_letters WHERE route_id = 'wal-mq-forbidden-to-jms'") == 1);
        assertThat(Sql.count("SELECT count(*) FROM pgrouter.dead_letters WHERE route_id = 'wal-mq-forbidden-to-jms' AND sink = 'jms-sink' "
                + "AND event->>'subject' = '1' AND error LIKE '%forbidden.orders%' AND attempts = 1")).isEqualTo(1);
        assertThat(Sql.count("SELECT count(*) FROM pgrouter.retries WHERE route_id = 'wal-mq-forbidden-to-jms'")).isZero();
    }

    /**
     * A broker that blocks an address (full, BLOCK policy; a broker whose disk is full blocks the same way) holds the
     * producer's send with no time limit of its own: the sink gives up after timeoutMs, its events wait in the retry
     * store, the other routes on the slot go on, and once a consumer takes messages every event arrives.
     */
    @Test
    void anAddressTheBrokerBlocksHoldsOnlyItsOwnEvents() throws Exception {
        // each row ~10 KB of hex (TOASTed); 4 transactions of 100 rows: the first one fills the address ten times over
        for (int tx = 0; tx < 4; tx++) {
            Sql.exec("INSERT INTO test.mq_blocked SELECT g, (SELECT string_agg(md5(random()::text || g || i), '') FROM generate_series(1, 320) i) "
                    + "FROM generate_series(" + (tx * 100 + 1) + ", " + (tx * 100 + 100) + ") g");
        }
        await().atMost(WAIT).until(() -> Sql.waiting("wal-mq-blocked-to-jms") > 0);

        List<Received> orders = new CopyOnWriteArrayList<>();
        listen("a", false, "orders", orders);
        Sql.exec("INSERT INTO test.mq_orders (id, note) VALUES (700, 'while blocked.orders is full')");
        await().atMost(WAIT).until(() -> orders.stream().anyMatch(r -> "700".equals(r.subject())));

        List<Received> blocked = new CopyOnWriteArrayList<>();
        listen("drain", false, "blocked.orders", blocked);
        await().atMost(Duration.ofSeconds(120)).until(() -> blocked.stream().map(Received::subject).distinct().count() == 400);
        assertThat(blocked).allSatisfy(r -> assertThat(r.event().path("data").path("after").path("note").asText()).hasSize(320 * 32));
        await().atMost(WAIT).until(() -> Sql.waiting("wal-mq-blocked-to-jms") == 0);
    }

    /**
     * The fault test: the broker stops for 30 s while rows change at ~25 tx/s, then comes back on the same port
     * and journal. Every change arrives, in order per subject; a change that arrives twice has the same ce_id.
     */
    @jakarta.inject.Inject
    io.micrometer.core.instrument.MeterRegistry meters;

    private double eventsIn(String table) {
        return io.pgrouter.testing.Meters.eventsIn(meters, table);
    }

    @Test
    void theNotifySourcesBatchEndNeverTakesAWalEventThatCouldNotBeStored() throws Exception {
        List<Received> got = new CopyOnWriteArrayList<>();
        // the WAL route waits 4 s at a slow receiver after handing its event to the JMS sink, inside the WAL batch
        TestServers.webhook.delay("/mq-flush-slow", 4000);
        long refusedBefore = Sql.count("SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM test.refused_parks");
        MessageBrokers.stopArtemis();
        // the retry store cannot take events either
        await().atMost(WAIT).until(() -> Sql.count("SELECT count(*) FROM pg_tables WHERE schemaname = 'pgrouter' AND tablename = 'retries'") == 1);
        Sql.exec("CREATE TRIGGER refuse BEFORE INSERT ON pgrouter.retries FOR EACH ROW EXECUTE FUNCTION test.refuse_parks()");
        try {
            double in = eventsIn("test.mq_flush");
            Sql.exec("INSERT INTO test.mq_flush VALUES (1)");
            await().atMost(WAIT).until(() -> eventsIn("test.mq_flush") > in);
            // meanwhile the NOTIFY source routes a notification into the same sink and ends its batch: its flush fails
            Sql.exec("SELECT pg_notify('mq_flush', '{\"n\": 1}')");
            await().atMost(WAIT).until(() -> Sql.count("SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM test.refused_parks") > refusedBefore);
        } finally {
            Sql.exec("DROP TRIGGER refuse ON pgrouter.retries");
            MessageBrokers.startArtemis();
        }
        // the WAL source must not move past its event: it reaches the queue once the broker is back
        listen("flush", false, "flush", got);
        await().atMost(WAIT).until(() -> got.stream().anyMatch(r -> "1".equals(r.subject())));
        TestServers.webhook.delay("/mq-flush-slow", 0);
    }

    @Test
    void brokerStoppedForThirtySecondsUnderLoadLosesNothing() throws Exception {
        Map<Integer, Integer> finalVersions = BrokerOutage.run("test.mq_outage", "wal-mq-outage-to-jms",
                MessageBrokers::stopArtemis, MessageBrokers::startArtemis);

        List<BrokerOutage.Delivered> got = new ArrayList<>();
        Session session = session();
        MessageConsumer consumer = session.createConsumer(session.createQueue("outage"));
        Set<String> distinct = new HashSet<>();
        long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        while (distinct.size() < BrokerOutage.CHANGES && System.nanoTime() < deadline) {
            Message m = consumer.receive(1000);
            if (m == null) continue;
            Received r = received("outage", m);
            BrokerOutage.Delivered d = new BrokerOutage.Delivered(r.subject(), r.version(), (String) r.properties().get("ce_id"));
            got.add(d);
            distinct.add(d.change());
        }
        BrokerOutage.assertNothingLost(got, finalVersions, "wal-mq-outage-to-jms");
    }
}
