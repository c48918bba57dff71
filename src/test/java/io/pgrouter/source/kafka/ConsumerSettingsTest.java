package io.pgrouter.source.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import java.util.Properties;

import org.junit.jupiter.api.Test;

import io.pgrouter.config.KafkaSourceConfig;
import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;

/** The Kafka consumer's settings from {@code pgrouter.kafka.*}: Kafka's dotted names pass through, the source's own are refused. */
class ConsumerSettingsTest {

    static KafkaSourceConfig config(Map<String, String> properties) {
        SmallRyeConfig config = new SmallRyeConfigBuilder().withMapping(KafkaSourceConfig.class)
                .withSources(new PropertiesConfigSource(properties, "test", 100)).build();
        return config.getConfigMapping(KafkaSourceConfig.class);
    }

    @Test
    void kafkasOwnSettingsPassThroughByTheirDottedNames() {
        KafkaSourceConfig c = config(Map.of("pgrouter.kafka.bootstrap-servers", "k:9092", "pgrouter.kafka.consumer.security.protocol", "SASL_SSL",
                "pgrouter.kafka.consumer.sasl.mechanism", "SCRAM-SHA-256", "pgrouter.kafka.consumer.session.timeout.ms", "6000"));
        Properties p = ConsumerSettings.forGroup(c.bootstrapServers().orElseThrow(), c.group(), c.consumer());
        assertThat(p).containsEntry("security.protocol", "SASL_SSL").containsEntry("sasl.mechanism", "SCRAM-SHA-256")
                .containsEntry("session.timeout.ms", "6000").containsEntry("group.id", "pgrouter").containsEntry("enable.auto.commit", "false")
                .containsEntry("bootstrap.servers", "k:9092");
    }

    @Test
    void aSecretSettingComesFromAnEnvironmentVariableWithTheKeyInDoubleUnderscores() {
        SmallRyeConfig config = new SmallRyeConfigBuilder().withMapping(KafkaSourceConfig.class)
                .withSources(new io.smallrye.config.EnvConfigSource(Map.of("PGROUTER_KAFKA_CONSUMER__SASL_JAAS_CONFIG__", "secret-jaas"), 300)).build();
        assertThat(config.getConfigMapping(KafkaSourceConfig.class).consumer()).containsEntry("sasl.jaas.config", "secret-jaas");
    }

    @Test
    void aSettingTheSourceOwnsIsRefusedNamingItAndWhy() {
        KafkaSourceConfig c = config(Map.of("pgrouter.kafka.consumer.enable.auto.commit", "true"));
        assertThatThrownBy(() -> ConsumerSettings.forGroup("k:9092", "g", c.consumer()))
                .hasMessageContaining("pgrouter.kafka.consumer.enable.auto.commit").hasMessageContaining("committed only after");
    }

    @Test
    void aWrongValueFailsNamingTheSetting() {
        KafkaSourceConfig c = config(Map.of("pgrouter.kafka.consumer.session.timeout.ms", "soon"));
        assertThatThrownBy(() -> ConsumerSettings.forGroup("k:9092", "g", c.consumer()))
                .hasMessageContaining("pgrouter.kafka.consumer").hasMessageContaining("session.timeout.ms");
    }
}
