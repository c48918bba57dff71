package io.pgrouter.sink.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import java.util.Properties;

import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.eclipse.microprofile.config.Config;
import org.junit.jupiter.api.Test;

import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfigBuilder;

/** Kafka producer settings passed through from the configuration: what reaches the client, and the errors that name a bad setting. */
class ProducerSettingsTest {

    private static final String PREFIX = "pgrouter.sinks.kafka.producer";

    private static Config config(Map<String, String> values) {
        return new SmallRyeConfigBuilder().withSources(new PropertiesConfigSource(values, "test", 500)).build();
    }

    private static Properties producer() {
        Properties p = new Properties();
        p.put("bootstrap.servers", "kafka:9092");
        return p;
    }

    @Test
    void settingsUnderThePrefixReachTheClientByKafkasNames() {
        ProducerSettings s = ProducerSettings.under(PREFIX, config(Map.of(PREFIX + ".security.protocol", "SASL_SSL",
                PREFIX + ".sasl.mechanism", "SCRAM-SHA-512", "pgrouter.sinks.kafka.other", "x", PREFIX + ".request.timeout.ms", "20000")));
        assertThat(s.values()).containsOnly(Map.entry("security.protocol", "SASL_SSL"), Map.entry("sasl.mechanism", "SCRAM-SHA-512"),
                Map.entry("request.timeout.ms", "20000"));
        assertThat(s.forAdmin()).containsKeys("security.protocol", "sasl.mechanism", "request.timeout.ms");
        Properties p = producer();
        p.putAll(s.values());
        s.check(p);
    }

    @Test
    void aWrongValueFailsNamingTheSetting() {
        ProducerSettings s = ProducerSettings.under(PREFIX, config(Map.of(PREFIX + ".security.protocol", "SSL_SASL")));
        Properties p = producer();
        p.putAll(s.values());
        assertThatThrownBy(() -> s.check(p)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(PREFIX).hasMessageContaining("security.protocol").hasMessageContaining("SSL_SASL");
    }

    @Test
    void aSettingTheContractOwnsIsRefusedNamingIt() {
        assertThatThrownBy(() -> ProducerSettings.under(PREFIX, config(Map.of(PREFIX + ".acks", "1"))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(PREFIX + ".acks").hasMessageContaining("acks=all");
    }

    @Test
    void refusedCredentialsNameTheSettingsToCheck() {
        ProducerSettings s = ProducerSettings.under("pgrouter.sinks.kafka.audit", config(Map.of()));
        assertThat(s.hint(new SaslAuthenticationException("invalid credentials"))).contains("pgrouter.sinks.kafka.audit.sasl.jaas.config");
        assertThat(s.hint(new RuntimeException("other"))).isEmpty();
    }
}
