package io.pgrouter.testing;

import java.util.List;
import java.util.Map;

import io.quarkus.test.junit.QuarkusTestProfile;

/** The router with the Kafka TLS and SASL test routes only (src/test/routes/kafka-security) and a Kafka that requires them. */
public class KafkaSecurityProfile implements QuarkusTestProfile {

    @Override
    public Map<String, String> getConfigOverrides() {
        return Map.of("camel.main.routes-include-pattern", "file:src/test/routes/kafka-security/*.yaml");
    }

    @Override
    public List<TestResourceEntry> testResources() {
        return List.of(new TestResourceEntry(SecureKafka.class));
    }
}
