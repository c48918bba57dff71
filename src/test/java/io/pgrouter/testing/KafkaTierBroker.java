package io.pgrouter.testing;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

/** A one-node KRaft Kafka in this JVM for the Kafka tier, three partitions per topic; hands its address to the router. */
public class KafkaTierBroker implements QuarkusTestResourceLifecycleManager {

    public static String bootstrapServers;
    private KafkaNode kafka;
    private Path work;

    @Override
    public Map<String, String> start() {
        try {
            work = Files.createTempDirectory("pgrouter-kafka-tier");
            kafka = new KafkaNode(work, Map.of("num.partitions", "3"));
            kafka.start();
            bootstrapServers = kafka.bootstrapServers();
            return Map.of("pgrouter.kafka.bootstrap-servers", bootstrapServers);
        } catch (Exception e) {
            throw new IllegalStateException("Kafka did not start", e);
        }
    }

    @Override
    public void stop() {
        if (kafka != null) kafka.stop();
        if (work != null) {
            try (var files = Files.walk(work)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            } catch (java.io.IOException e) {
                throw new IllegalStateException(e);
            }
        }
    }
}
