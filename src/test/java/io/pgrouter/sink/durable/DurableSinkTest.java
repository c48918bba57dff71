package io.pgrouter.sink.durable;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import jakarta.jms.Connection;
import jakarta.jms.MessageConsumer;
import jakarta.jms.Session;
import jakarta.jms.TextMessage;

import org.apache.activemq.artemis.jms.client.ActiveMQConnectionFactory;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.Test;

import redis.clients.jedis.Jedis;

import com.fasterxml.jackson.databind.JsonNode;

import io.pgrouter.event.CanonicalEvent;
import io.pgrouter.testing.DurableSinksProfile;
import io.pgrouter.testing.MessageBrokers;
import io.pgrouter.testing.Sql;
import io.pgrouter.testing.TestServers;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;

/**
 * Stock Camel endpoints on the delivery contract through durable-sink (and mqtt-sink, built on it), against real
 * servers: Debian's Mosquitto, Redis and NATS, the JDK HTTP receiver, Artemis; and Camel's jms component straight in a route.
 */
@QuarkusTest
@TestProfile(DurableSinksProfile.class)
@QuarkusTestResource(value = TestServers.class, restrictToAnnotatedClass = false)
class DurableSinkTest {

    private static JsonNode json(String text) {
        try {
            return CanonicalEvent.JSON.readTree(text);
        } catch (Exception e) {
            throw new IllegalStateException(text, e);
        }
    }

    /**
     * Mosquitto stops while a row changes three times: the changes wait in the retry store, then arrive after the
     * restart in their order. The subscriber's session is persistent, so it misses nothing while the broker is away.
     */
    @Test
    void mqttChangesWaitWhileTheBrokerIsDownAndArriveInOrder() throws Exception {
        List<JsonNode> got = new CopyOnWriteArrayList<>();
        MqttClient subscriber = new MqttClient(DurableSinksProfile.mqtt.url(), "durable-sink-test", new MemoryPersistence());
        MqttConnectOptions options = new MqttConnectOptions();
        options.setCleanSession(false);
        options.setAutomaticReconnect(true);
        subscriber.connect(options);
        subscriber.subscribe("pg/durable_mqtt", 1, (topic, message) -> got.add(json(new String(message.getPayload(), StandardCharsets.UTF_8))));
        try {
            Sql.exec("INSERT INTO test.durable_mqtt (id, version) VALUES (1, 1)");
            await().atMost(Duration.ofSeconds(60)).until(() -> got.size() == 1);

            DurableSinksProfile.mqtt.stop();
            for (int v = 2; v <= 4; v++) Sql.exec("UPDATE test.durable_mqtt SET version = " + v + " WHERE id = 1");
            await().atMost(Duration.ofSeconds(60)).until(() -> Sql.count(
                    "SELECT count(*) FROM pgrouter.retries WHERE route_id = 'wal-durable-mqtt-to-mqtt' AND subject = '1'") == 3);
            DurableSinksProfile.mqtt.start();

            await().atMost(Duration.ofSeconds(60)).until(() -> got.size() >= 4);
            assertThat(got).extracting(e -> e.path("data").path("after").path("version").asInt()).containsExactly(1, 2, 3, 4);
            assertThat(got.get(3).path("subject").asText()).isEqualTo("1");
            await().atMost(Duration.ofSeconds(10)).until(() -> Sql.count("SELECT count(*) FROM pgrouter.retries WHERE route_id = 'wal-durable-mqtt-to-mqtt'") == 0);
        } finally {
            subscriber.disconnectForcibly(1000);
            subscriber.close();
        }
    }

    @Test
    void httpIsRetriedInLineAndA4xxGoesToDeadLettersUnderTheSinkName() {
        TestServers.webhook.script("/durable-http", 503, 200, 400);
        Sql.exec("INSERT INTO test.durable_http (id, note) VALUES (1, 'second attempt')");
        await().atMost(Duration.ofSeconds(60)).until(() -> TestServers.webhook.deliveries("/durable-http").size() == 1);
        assertThat(TestServers.webhook.attempts("/durable-http")).extracting(a -> a.status()).containsExactly(503, 200);
        var delivered = TestServers.webhook.deliveries("/durable-http").get(0);
        assertThat(json(delivered.body()).path("data").path("after").path("note").asText()).isEqualTo("second attempt");
        assertThat(delivered.header("ceSubject")).isEqualTo("1");

        Sql.exec("INSERT INTO test.durable_http (id, note) VALUES (2, 'refused')");
        await().atMost(Duration.ofSeconds(60)).until(() -> Sql.count("SELECT count(*) FROM pgrouter.dead_letters WHERE route_id = "
                + "'wal-durable-http-to-http' AND sink = 'receiver-http' AND event->>'subject' = '2' AND error LIKE '%400%'") == 1);
        assertThat(TestServers.webhook.attempts("/durable-http")).extracting(a -> a.status()).containsExactly(503, 200, 400);
        assertThat(Sql.count("SELECT count(*) FROM pgrouter.retries WHERE route_id = 'wal-durable-http-to-http'")).isZero();
    }

    @Test
    void redisListGetsEveryChangeInOrder() {
        Sql.exec("INSERT INTO test.durable_redis (id, version) VALUES (1, 1)");
        Sql.exec("UPDATE test.durable_redis SET version = 2 WHERE id = 1");
        Sql.exec("INSERT INTO test.durable_redis (id, version) VALUES (2, 1)");
        try (Jedis redis = new Jedis("127.0.0.1", DurableSinksProfile.redis.port())) {
            await().atMost(Duration.ofSeconds(60)).until(() -> redis.llen("pg:durable_redis") == 3);
            List<JsonNode> got = redis.lrange("pg:durable_redis", 0, -1).stream().map(DurableSinkTest::json).toList();
            assertThat(got).extracting(e -> e.path("subject").asText() + "/" + e.path("data").path("after").path("version").asInt())
                    .containsExactly("1/1", "1/2", "2/1");
        }
    }

    @Test
    void natsJetStreamStoresEveryChangeInOrder() throws Exception {
        Sql.exec("INSERT INTO test.durable_nats (id, version) VALUES (1, 1)");
        Sql.exec("UPDATE test.durable_nats SET version = 2 WHERE id = 1");
        try (io.nats.client.Connection nats = io.nats.client.Nats.connect("nats://" + DurableSinksProfile.nats.servers())) {
            io.nats.client.JetStreamManagement streams = nats.jetStreamManagement();
            await().atMost(Duration.ofSeconds(60)).ignoreExceptions().until(() -> streams.getStreamInfo("PGTEST").getStreamState().getMsgCount() == 2);
            List<JsonNode> got = List.of(json(new String(streams.getMessage("PGTEST", 1).getData(), StandardCharsets.UTF_8)),
                    json(new String(streams.getMessage("PGTEST", 2).getData(), StandardCharsets.UTF_8)));
            assertThat(got).extracting(e -> e.path("subject").asText() + "/" + e.path("data").path("after").path("version").asInt())
                    .containsExactly("1/1", "1/2");
            assertThat(streams.getMessage("PGTEST", 1).getSubject()).isEqualTo("pg.durable_nats");
        }
    }

    @Test
    void jmsWorksStraightInARouteAndBehindDurableSink() throws Exception {
        Sql.exec("INSERT INTO test.jms_direct (id, note) VALUES (5, 'to artemis')");
        try (Connection c = new ActiveMQConnectionFactory(MessageBrokers.artemisUrl).createConnection()) {
            c.start();
            Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
            for (String queue : List.of("direct.orders", "durable.orders")) {
                try (MessageConsumer consumer = s.createConsumer(s.createQueue(queue))) {
                    TextMessage m = (TextMessage) consumer.receive(60_000);
                    assertThat(m).as(queue).isNotNull();
                    assertThat(json(m.getText()).path("data").path("after").path("note").asText()).as(queue).isEqualTo("to artemis");
                    assertThat(m.getStringProperty("ceSubject")).as(queue).isEqualTo("5");
                }
            }
        }
    }
}
