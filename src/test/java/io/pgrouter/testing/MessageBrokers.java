package io.pgrouter.testing;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.apache.activemq.artemis.core.config.Configuration;
import org.apache.activemq.artemis.core.config.impl.ConfigurationImpl;
import org.apache.activemq.artemis.core.server.JournalType;
import org.apache.activemq.artemis.core.server.embedded.EmbeddedActiveMQ;
import org.apache.activemq.artemis.core.settings.impl.AddressSettings;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

/**
 * The brokers the message-queue sinks talk to in tests, in this JVM: ActiveMQ Artemis with a journal on disk and a
 * TCP acceptor on a loopback port (stoppable and restartable on the same port and journal), and a one-node KRaft
 * Kafka cluster from Kafka's test kit. Addresses under {@code forbidden.} may not be auto-created: sending there is
 * a destination the broker refuses for good.
 */
public class MessageBrokers implements QuarkusTestResourceLifecycleManager {

    private static Configuration artemisConfig;
    private static EmbeddedActiveMQ artemis;
    private static KafkaClusterTestKit kafka;
    public static String artemisUrl;
    public static String kafkaBrokers;

    @Override
    public Map<String, String> start() {
        try {
            Path work = Files.createTempDirectory("pgrouter-brokers");
            int port;
            try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
                port = s.getLocalPort();
            }
            artemisUrl = "tcp://127.0.0.1:" + port;
            artemisConfig = new ConfigurationImpl().setPersistenceEnabled(true).setSecurityEnabled(false).setJMXManagementEnabled(false)
                    .setJournalType(JournalType.NIO).setJournalDirectory(work.resolve("journal").toString())
                    .setBindingsDirectory(work.resolve("bindings").toString()).setPagingDirectory(work.resolve("paging").toString())
                    .setLargeMessagesDirectory(work.resolve("large").toString())
                    .addAddressSetting("forbidden.#", new AddressSettings().setAutoCreateAddresses(false).setAutoCreateQueues(false));
            artemisConfig.addAcceptorConfiguration("tcp", artemisUrl);
            startArtemis();

            kafka = new KafkaClusterTestKit.Builder(new TestKitNodes.Builder().setCombined(true).setNumBrokerNodes(1).setNumControllerNodes(1)
                    .setBaseDirectory(work.resolve("kafka")).build())
                    .setConfigProp("num.partitions", 3)
                    .setConfigProp("group.initial.rebalance.delay.ms", 0)
                    // one broker: internal topics with one replica, or consumer groups never get a coordinator
                    .setConfigProp("offsets.topic.replication.factor", (short) 1)
                    .setConfigProp("transaction.state.log.replication.factor", (short) 1)
                    .setConfigProp("transaction.state.log.min.isr", 1)
                    .build();
            kafka.format();
            kafka.startup();
            kafka.waitForReadyBrokers();
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

    @Override
    public void stop() {
        try {
            stopArtemis();
            if (kafka != null) kafka.close();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
