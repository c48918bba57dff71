package io.pgrouter.testing;

import java.util.List;
import java.util.Map;

import io.quarkus.test.junit.QuarkusTestProfile;

/** The router with both tiers in one process (src/test/routes/tier2) and a one-node Kafka in this JVM. */
public class KafkaTierProfile implements QuarkusTestProfile {

    @Override
    public List<TestResourceEntry> testResources() {
        return List.of(new TestResourceEntry(KafkaTierBroker.class));
    }

    @Override
    public Map<String, String> getConfigOverrides() {
        return Map.of("camel.main.routes-include-pattern", "file:src/test/routes/tier2/*.yaml",
                // a Kafka consumer setting passed through as it is
                "pgrouter.kafka.consumer.max.poll.records", "50");
    }
}
