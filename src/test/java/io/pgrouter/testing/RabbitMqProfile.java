package io.pgrouter.testing;

import java.util.List;
import java.util.Map;

import io.quarkus.test.junit.QuarkusTestProfile;

/**
 * The app with a real RabbitMQ, the RabbitMQ test routes and the migration-flood example route, and no other routes:
 * the demo's webhook route on marketplace.products shares the example's table, and a slow answer from its receiver
 * (15 s timeout, 3 retries) would hold the stream and fail these tests for a reason that is not theirs.
 */
public class RabbitMqProfile implements QuarkusTestProfile {

    @Override
    public Map<String, String> getConfigOverrides() {
        return Map.of("camel.main.routes-include-pattern",
                "file:src/test/routes/rabbitmq/*.yaml,file:examples/migration-flood/*.yaml");
    }

    @Override
    public List<TestResourceEntry> testResources() {
        return List.of(new TestResourceEntry(RabbitMqResource.class));
    }
}
