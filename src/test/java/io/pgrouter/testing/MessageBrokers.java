package io.pgrouter.testing;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.apache.activemq.artemis.core.config.Configuration;
import org.apache.activemq.artemis.core.config.impl.ConfigurationImpl;
import org.apache.activemq.artemis.core.server.JournalType;
import org.apache.activemq.artemis.core.server.embedded.EmbeddedActiveMQ;
import org.apache.activemq.artemis.core.settings.impl.AddressFullMessagePolicy;
import org.apache.activemq.artemis.core.settings.impl.AddressSettings;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

/**
 * The brokers the message-queue sinks talk to in tests, in this JVM: ActiveMQ Artemis with a journal on disk and a
 * TCP acceptor on a loopback port, and a one-node KRaft Kafka ({@link KafkaNode}); each can be stopped and started
 * again on the same port and data. Addresses under {@code forbidden.} may not be auto-created: sending there is
 * a destination the broker refuses for good. Addresses under {@code blocked.} hold {@link #BLOCKED_MAX_BYTES} and then
 * block their producers until a consumer takes messages (the BLOCK policy; a broker whose disk is full does the same).
 */
public class MessageBrokers implements QuarkusTestResourceLifecycleManager {

    public static final long BLOCKED_MAX_BYTES = 100 * 1024;
    private static Configuration artemisConfig;
    private static EmbeddedActiveMQ artemis;
    private static KafkaNode kafka;
    private static Path work;
    public static String artemisUrl;
    public static String kafkaBrokers;

    @Override
    public Map<String, String> start() {
        try {
            work = Files.createTempDirectory("pgrouter-brokers");
            int port = Ports.free();
            artemisUrl = "tcp://127.0.0.1:" + port;
            artemisConfig = new ConfigurationImpl().setPersistenceEnabled(true).setSecurityEnabled(false).setJMXManagementEnabled(false)
                    .setJournalType(JournalType.NIO).setJournalDirectory(work.resolve("journal").toString())
                    .setBindingsDirectory(work.resolve("bindings").toString()).setPagingDirectory(work.resolve("paging").toString())
                    .setLargeMessagesDirectory(work.resolve("large").toString())
                    // the broker's default blocks every address once the disk is 90 % full, whoever filled it
                    .setMaxDiskUsage(-1)
                    .addAddressSetting("forbidden.#", new AddressSettings().setAutoCreateAddresses(false).setAutoCreateQueues(false))
                    .addAddressSetting("blocked.#", new AddressSettings().setMaxSizeBytes(BLOCKED_MAX_BYTES)
                            .setAddressFullMessagePolicy(AddressFullMessagePolicy.BLOCK));
            artemisConfig.addAcceptorConfiguration("tcp", artemisUrl);
            startArtemis();

            kafka = new KafkaNode(work.resolve("kafka"), Map.of("num.partitions", "3"));
            kafka.start();
            kafkaBrokers = kafka.bootstrapServers();
            return Map.of("pgrouter.test.artemis-url", artemisUrl, "pgrouter.test.kafka-brokers", kafkaBrokers);
        } catch (Exception e) {
            throw new IllegalStateException("message brokers did not start", e);
        }
    }

    /** Starts Artemis (again) on the same port and journal: what it had accepted before a stop is still there. */
    public static synchronized void startArtemis() throws Exception {
        artemis = new EmbeddedActiveMQ().setConfiguration(artemisConfig);
        artemis.start();
    }

    public static synchronized void stopArtemis() throws Exception {
        if (artemis != null) artemis.stop();
        artemis = null;
    }

    /** Starts Kafka (again) on the same ports and log directory. */
    public static void startKafka() {
        kafka.start();
    }

    public static void stopKafka() {
        kafka.stop();
    }

    @Override
    public void stop() {
        try {
            stopArtemis();
            if (kafka != null) kafka.stop();
            Dirs.deleteTree(work);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
