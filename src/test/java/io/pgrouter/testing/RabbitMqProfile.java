package io.pgrouter.testing;

import java.util.List;
import java.util.Map;

import io.quarkus.test.junit.QuarkusTestProfile;

/** The app with a real RabbitMQ, the RabbitMQ test routes and the migration-flood example route. */
public class RabbitMqProfile implements QuarkusTestProfile {

    @Override
    public Map<String, String> getConfigOverrides() {
        return Map.of("camel.main.routes-include-pattern",
                "file:routes/*.yaml,file:src/test/routes/*.yaml,file:src/test/routes/rabbitmq/*.yaml,file:examples/migration-flood/*.yaml");
    }

    @Override
    public List<TestResourceEntry> testResources() {
        return List.of(new TestResourceEntry(RabbitMqResource.class));
    }
}
