package io.pgrouter.testing;

import java.util.Map;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

/** A real RabbitMQ broker for the tests of the RabbitMQ sink; {@link #broker} lets a test stop and restart it. */
public class RabbitMqResource implements QuarkusTestResourceLifecycleManager {

    /** 64 KiB: small enough for a test row to exceed it (the broker's default is 128 MiB). */
    public static final long MAX_MESSAGE_BYTES = 64 * 1024;

    public static RabbitMqBroker broker;

    @Override
    public Map<String, String> start() {
        try {
            broker = new RabbitMqBroker(MAX_MESSAGE_BYTES).start();
            return Map.of("pgrouter.test.rabbitmq.url", broker.url(), "pgrouter.sinks.rabbitmq.url", broker.url());
        } catch (Exception e) {
            throw new IllegalStateException("RabbitMQ did not start", e);
        }
    }

    @Override
    public void stop() {
        try {
            if (broker != null) broker.close();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
