package io.pgrouter.testing;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;
import org.apache.kafka.metadata.storage.Formatter;
import org.apache.kafka.server.common.MetadataVersion;

import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;

/**
 * A one-node KRaft Kafka (broker and controller in one server) in this JVM, on fixed loopback ports and one log
 * directory, so it can be stopped and started again where it was: same address, same topics, same records. Kafka's
 * test kit ({@code KafkaClusterTestKit} 4.1.1) binds fresh ports on every build and has no restart, hence this.
 */
public final class KafkaNode {

    private final Map<String, Object> config = new HashMap<>();
    private final String bootstrap;
    private final Map<String, String> listenerAddresses = new HashMap<>();
    private KafkaRaftServer server;

    public KafkaNode(Path logDir, Map<String, Object> overrides) throws Exception {
        this(logDir, overrides, List.of());
    }

    /**
     * With a listener per security protocol in {@code protocols} (SSL, SASL_SSL, SASL_PLAINTEXT) besides PLAINTEXT,
     * each named after its protocol; their TLS and SASL settings come in {@code overrides}.
     */
    public KafkaNode(Path logDir, Map<String, Object> overrides, List<String> protocols) throws Exception {
        int port = Ports.free();
        int controllerPort = Ports.free();
        bootstrap = "127.0.0.1:" + port;
        StringBuilder listeners = new StringBuilder("PLAINTEXT://" + bootstrap);
        StringBuilder map = new StringBuilder("PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
        for (String protocol : protocols) {
            String address = "127.0.0.1:" + Ports.free();
            listenerAddresses.put(protocol, address);
            listeners.append(',').append(protocol).append("://").append(address);
            map.append(',').append(protocol).append(':').append(protocol);
        }
        config.put("process.roles", "broker,controller");
        config.put("node.id", "1");
        config.put("controller.quorum.voters", "1@127.0.0.1:" + controllerPort);
        config.put("listeners", listeners + ",CONTROLLER://127.0.0.1:" + controllerPort);
        config.put("advertised.listeners", listeners.toString());
        config.put("controller.listener.names", "CONTROLLER");
        config.put("inter.broker.listener.name", "PLAINTEXT");
        config.put("listener.security.protocol.map", map.toString());
        config.put("log.dirs", logDir.toString());
        // one node: internal topics with one replica, or consumer groups never get a coordinator
        config.put("offsets.topic.replication.factor", "1");
        config.put("transaction.state.log.replication.factor", "1");
        config.put("transaction.state.log.min.isr", "1");
        config.put("share.coordinator.state.topic.replication.factor", "1");
        config.put("share.coordinator.state.topic.min.isr", "1");
        config.put("group.initial.rebalance.delay.ms", "0");
        config.put("log.cleaner.dedupe.buffer.size", "2097152");
        config.putAll(overrides);
        new Formatter().setNodeId(1).setClusterId(Uuid.randomUuid().toString()).setDirectories(List.of(logDir.toString()))
                .setMetadataLogDirectory(logDir.toString()).setControllerListenerName("CONTROLLER")
                .setReleaseVersion(MetadataVersion.LATEST_PRODUCTION).setPrintStream(System.out).run();
    }

    /** The PLAINTEXT listener. */
    public String bootstrapServers() {
        return bootstrap;
    }

    /** The listener of one of the extra protocols. */
    public String bootstrapServers(String protocol) {
        return listenerAddresses.get(protocol);
    }

    /** Starts the node (again): returns once its broker is registered and serves clients. */
    public synchronized void start() {
        server = new KafkaRaftServer(new KafkaConfig(config, false), Time.SYSTEM);
        server.startup();
    }

    public synchronized void stop() {
        if (server == null) return;
        server.shutdown();
        server.awaitShutdown();
        server = null;
    }
}
