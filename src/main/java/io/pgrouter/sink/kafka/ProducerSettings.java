package io.pgrouter.sink.kafka;

import java.util.Map;
import java.util.Properties;

import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.SslAuthenticationException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

import io.pgrouter.config.ClientSettings;

/**
 * The Kafka producer settings passed through from the configuration (the Kamelet's {@code clientSettings} prefix,
 * {@value #DEFAULT_PREFIX} by default): {@code security.protocol}, {@code ssl.*}, {@code sasl.*}, tuning. Checked at
 * start with Kafka's own definitions, so a wrong value fails there naming the setting; the few the delivery contract
 * depends on are refused.
 */
final class ProducerSettings {

    static final String DEFAULT_PREFIX = "pgrouter.sinks.kafka.producer";

    /** Settings the sink owns: acknowledged, idempotent, in-order sends are the contract; the rest have Kamelet options. */
    private static final Map<String, String> OWNED = Map.of(
            ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, "use the Kamelet's brokers",
            ProducerConfig.ACKS_CONFIG, "the sink needs acks=all (a record counts as delivered only when all replicas have it)",
            ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "the sink needs the idempotent producer (a retried batch is not written twice)",
            ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, "the key is the event's subject, the value its JSON",
            ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, "the key is the event's subject, the value its JSON",
            ProducerConfig.LINGER_MS_CONFIG, "use the Kamelet's lingerMs",
            ProducerConfig.COMPRESSION_TYPE_CONFIG, "use the Kamelet's compression",
            ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "use the Kamelet's deliveryTimeoutMs");

    private final ClientSettings settings;

    private ProducerSettings(ClientSettings settings) {
        this.settings = settings;
    }

    static ProducerSettings under(String prefix) {
        return under(prefix, org.eclipse.microprofile.config.ConfigProvider.getConfig());
    }

    /** The settings under {@code prefix} in {@code config}; refuses those the sink owns. */
    static ProducerSettings under(String prefix, org.eclipse.microprofile.config.Config config) {
        ProducerSettings s = new ProducerSettings(ClientSettings.under(prefix, config));
        s.settings.refuse(OWNED, "kafka-sink");
        return s;
    }

    Map<String, String> values() {
        return settings.values();
    }

    /** The settings an admin client knows too (security and timeouts), for the sink's topic checks. */
    Map<String, String> forAdmin() {
        return settings.only(AdminClientConfig.configNames());
    }

    /** Kafka's own check of the producer's whole configuration: a bad value fails at start, named. */
    void check(Properties producer) {
        Properties p = new Properties();
        p.putAll(producer);
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        try {
            new ProducerConfig(p);
        } catch (ConfigException e) {
            throw new IllegalArgumentException("kafka-sink: a producer setting under " + settings.prefix() + " is wrong: " + e.getMessage(), e);
        }
    }

    /** What to check when the cluster refused the producer: the settings that carry its credentials or its trust. */
    String hint(Throwable failure) {
        if (failure instanceof SslAuthenticationException) {
            return " (the TLS handshake failed: check " + settings.name("ssl.truststore.location") + " and the other " + settings.name("ssl.*")
                    + " settings, and " + settings.name("security.protocol") + ")";
        }
        if (failure instanceof AuthenticationException) {
            return " (the cluster refused the credentials: check " + settings.name("sasl.jaas.config") + ", " + settings.name("sasl.mechanism")
                    + " and " + settings.name("security.protocol") + ")";
        }
        return "";
    }
}
