package io.pgrouter.source.kafka;

import java.util.Map;
import java.util.Properties;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.CooperativeStickyAssignor;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

import io.pgrouter.config.KafkaSourceConfig;

/**
 * The Kafka consumer's settings: the source's own (no auto-commit: offsets are committed after the sinks' batch end)
 * and every setting under {@value KafkaSourceConfig#CONSUMER_PREFIX} passed through as it is, so TLS, SASL and tuning
 * need no option of ours. Checked with Kafka's own definitions, so a wrong value fails at start naming the setting.
 */
final class ConsumerSettings {

    /** Settings the source owns, and why. */
    private static final Map<String, String> OWNED = Map.of(
            ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, "use pgrouter.kafka.bootstrap-servers",
            ConsumerConfig.GROUP_ID_CONFIG, "use the route's group= or pgrouter.kafka.group",
            ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "offsets are committed only after the sinks delivered or stored the events",
            ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, "the source reads the key as text and the value as bytes",
            ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, "the source reads the key as text and the value as bytes");

    private ConsumerSettings() {
    }

    /** The consumer's properties for one group; throws naming the setting when one is refused or wrong. */
    static Properties forGroup(String bootstrapServers, String group, Map<String, String> passedThrough) {
        for (Map.Entry<String, String> owned : OWNED.entrySet()) {
            if (passedThrough.containsKey(owned.getKey())) {
                throw new IllegalArgumentException("setting " + KafkaSourceConfig.CONSUMER_PREFIX + "." + owned.getKey()
                        + " is not passed to the Kafka consumer: " + owned.getValue());
            }
        }
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        // a group that starts reads what the first tier wrote before it (the events are waiting for it)
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        // a router joining or leaving moves only the partitions that change owner; the others keep being delivered
        p.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, CooperativeStickyAssignor.class.getName());
        p.put(ConsumerConfig.CLIENT_ID_CONFIG, "pgrouter-" + group + "-" + System.getenv().getOrDefault("HOSTNAME", String.valueOf(ProcessHandle.current().pid())));
        p.putAll(passedThrough);
        try {
            new ConsumerConfig(p);
        } catch (ConfigException e) {
            throw new IllegalArgumentException("a Kafka consumer setting under " + KafkaSourceConfig.CONSUMER_PREFIX + " is wrong: " + e.getMessage(), e);
        }
        return p;
    }
}
