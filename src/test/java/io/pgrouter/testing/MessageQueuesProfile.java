package io.pgrouter.testing;

import java.util.List;
import java.util.Map;

import io.quarkus.test.junit.QuarkusTestProfile;

/** The router with the message-queue test routes (src/test/routes/queues) and the brokers they send to. */
public class MessageQueuesProfile implements QuarkusTestProfile {

    @Override
    public List<TestResourceEntry> testResources() {
        return List.of(new TestResourceEntry(MessageBrokers.class));
    }

    @Override
    public Map<String, String> getConfigOverrides() {
        return Map.of("camel.main.routes-include-pattern", "file:routes/*.yaml,file:src/test/routes/*.yaml,file:src/test/routes/queues/*.yaml",
                // the embedded broker logs every message it routes at INFO
                "quarkus.log.category.\"org.apache.activemq.audit\".level", "WARN",
                "quarkus.log.category.\"org.apache.activemq.artemis.core.server\".level", "ERROR");
    }
}
