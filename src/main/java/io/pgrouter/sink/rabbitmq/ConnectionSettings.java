package io.pgrouter.sink.rabbitmq;

import java.util.Map;

import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.ConnectionFactoryConfigurator;

import io.pgrouter.config.ClientSettings;

/**
 * The RabbitMQ client's own connection settings passed through (the Kamelet's {@code clientSettings} prefix,
 * {@value #DEFAULT_PREFIX} by default), in the names of its {@link ConnectionFactoryConfigurator}: {@code ssl.enabled},
 * {@code ssl.trust.store}, {@code ssl.key.store} (client certificates), {@code ssl.verify.hostname}, {@code virtual.host},
 * {@code client.properties.*}... Recovery is the sink's own (it reconnects on the next attempt, so failures reach the
 * delivery contract): those settings are refused.
 */
final class ConnectionSettings {

    static final String DEFAULT_PREFIX = "pgrouter.sinks.rabbitmq.connection";

    private static final Map<String, String> OWNED = Map.of(
            ConnectionFactoryConfigurator.CONNECTION_RECOVERY_ENABLED, "the sink reconnects on its next attempt, so a failure reaches the retry store",
            ConnectionFactoryConfigurator.TOPOLOGY_RECOVERY_ENABLED, "the sink reconnects on its next attempt, so a failure reaches the retry store",
            ConnectionFactoryConfigurator.CONNECTION_TIMEOUT, "use the Kamelet's connectTimeoutMs",
            ConnectionFactoryConfigurator.HANDSHAKE_TIMEOUT, "use the Kamelet's connectTimeoutMs");

    private ConnectionSettings() {
    }

    /** Applies the settings under {@code prefix} to the factory; a value the client cannot use fails here, naming the prefix. */
    static void apply(ConnectionFactory factory, String prefix) {
        ClientSettings settings = ClientSettings.under(prefix);
        if (settings.values().isEmpty()) return;
        settings.refuse(OWNED, "rabbitmq-sink");
        try {
            ConnectionFactoryConfigurator.load(factory, settings.values(), "");
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("rabbitmq-sink: a connection setting under " + settings.prefix() + " cannot be used: " + e.getMessage(), e);
        }
    }
}
