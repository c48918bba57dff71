package io.pgrouter.testing;

import java.util.List;
import java.util.Map;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import io.quarkus.test.junit.QuarkusTestProfile;

/**
 * The router with the durable-sink test routes (src/test/routes/durable): Camel endpoints users send to without Java
 * (paho:, http:, jms:, spring-redis:, nats:), with Artemis (from {@link MessageBrokers}), Mosquitto, Redis and NATS. The JMS connection factory is
 * declared by properties alone, as docs/sinks/add-a-sink.md shows.
 */
public class DurableSinksProfile implements QuarkusTestProfile {

    public static MqttBroker mqtt;
    public static RedisServer redis;
    public static NatsServer nats;

    /** Mosquitto, Redis and NATS for the test routes' mqtt-sink, redis-sink and nats-sink. */
    public static class Servers implements QuarkusTestResourceLifecycleManager {
        @Override
        public Map<String, String> start() {
            try {
                mqtt = new MqttBroker().start();
                redis = new RedisServer();
                nats = new NatsServer();
                nats.addStream("PGTEST", "pg.durable_nats");
                return Map.of("pgrouter.test.mqtt-url", mqtt.url(), "pgrouter.test.redis-port", String.valueOf(redis.port()),
                        "pgrouter.test.nats-servers", nats.servers());
            } catch (Exception e) {
                throw new IllegalStateException("Mosquitto, Redis or NATS did not start", e);
            }
        }

        @Override
        public void stop() {
            try {
                if (mqtt != null) mqtt.close();
                if (redis != null) redis.close();
                if (nats != null) nats.close();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
    }

    @Override
    public Map<String, String> getConfigOverrides() {
        return Map.of("camel.main.routes-include-pattern", "file:src/test/routes/durable/*.yaml",
                "camel.component.jms.connection-factory", "#class:org.apache.activemq.artemis.jms.client.ActiveMQConnectionFactory",
                "camel.component.jms.connection-factory.brokerURL", "{{pgrouter.test.artemis-url}}",
                "quarkus.log.category.\"org.apache.activemq.audit\".level", "WARN",
                "quarkus.log.category.\"org.apache.activemq.artemis.core.server\".level", "ERROR");
    }

    @Override
    public List<TestResourceEntry> testResources() {
        return List.of(new TestResourceEntry(MessageBrokers.class), new TestResourceEntry(Servers.class));
    }
}
