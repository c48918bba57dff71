package io.pgrouter.testing;

import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

/**
 * A one-node Kafka in this JVM with three listeners: PLAINTEXT (the tests read and set up through it), SSL, and
 * SASL_SSL with SCRAM-SHA-256 and one user, its certificate made here ({@link TestCertificates}). Hands the router the
 * listeners and three sets of producer settings, one per test route: trust only (pgrouter.test.kafka-tls), trust and
 * the right password (pgrouter.test.kafka-scram), a wrong password (pgrouter.test.kafka-wrong).
 */
public class SecureKafka implements QuarkusTestResourceLifecycleManager {

    public static final String USER = "router";
    public static final String PASSWORD = "scram-" + java.util.UUID.randomUUID();
    private static KafkaNode kafka;
    private static Path work;
    public static String plaintext;

    @Override
    public Map<String, String> start() {
        try {
            work = Files.createTempDirectory("pgrouter-secure-kafka");
            TestCertificates certs = TestCertificates.in(work);
            Path truststore = certs.trustStore();
            String storePassword = certs.password();
            Map<String, Object> broker = Map.of(
                    "ssl.keystore.type", "PKCS12",
                    "ssl.keystore.location", certs.keyStore().toString(),
                    "ssl.keystore.password", storePassword,
                    "ssl.key.password", storePassword,
                    "sasl.enabled.mechanisms", "SCRAM-SHA-256",
                    "listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config", "org.apache.kafka.common.security.scram.ScramLoginModule required;",
                    "num.partitions", "1");
            kafka = new KafkaNode(work.resolve("kafka"), broker, List.of("SSL", "SASL_SSL"));
            kafka.start();
            plaintext = kafka.bootstrapServers();
            addScramUser();

            String trust = "ssl.truststore.location";
            return Map.ofEntries(
                    Map.entry("pgrouter.test.kafka-ssl", kafka.bootstrapServers("SSL")),
                    Map.entry("pgrouter.test.kafka-sasl-ssl", kafka.bootstrapServers("SASL_SSL")),
                    Map.entry("pgrouter.test.kafka-tls.security.protocol", "SSL"),
                    Map.entry("pgrouter.test.kafka-tls." + trust, truststore.toString()),
                    Map.entry("pgrouter.test.kafka-tls.ssl.truststore.password", storePassword),
                    Map.entry("pgrouter.test.kafka-scram.security.protocol", "SASL_SSL"),
                    Map.entry("pgrouter.test.kafka-scram.sasl.mechanism", "SCRAM-SHA-256"),
                    Map.entry("pgrouter.test.kafka-scram.sasl.jaas.config", jaas(PASSWORD)),
                    Map.entry("pgrouter.test.kafka-scram." + trust, truststore.toString()),
                    Map.entry("pgrouter.test.kafka-scram.ssl.truststore.password", storePassword),
                    Map.entry("pgrouter.test.kafka-wrong.security.protocol", "SASL_SSL"),
                    Map.entry("pgrouter.test.kafka-wrong.sasl.mechanism", "SCRAM-SHA-256"),
                    Map.entry("pgrouter.test.kafka-wrong.sasl.jaas.config", jaas("not-" + PASSWORD)),
                    Map.entry("pgrouter.test.kafka-wrong." + trust, truststore.toString()),
                    Map.entry("pgrouter.test.kafka-wrong.ssl.truststore.password", storePassword));
        } catch (Exception e) {
            throw new IllegalStateException("Kafka with TLS and SASL did not start", e);
        }
    }

    private static String jaas(String password) {
        return "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"" + USER + "\" password=\"" + password + "\";";
    }

    /** SCRAM users live in the cluster's metadata: added through the PLAINTEXT listener, then awaited until the broker knows them. */
    private static void addScramUser() throws Exception {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, plaintext);
        try (Admin admin = Admin.create(p)) {
            admin.alterUserScramCredentials(List.of(new UserScramCredentialUpsertion(USER,
                    new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 4096), PASSWORD))).all().get();
            await().atMost(Duration.ofSeconds(30)).until(() -> admin.describeUserScramCredentials(List.of(USER)).all().get().containsKey(USER));
        }
    }

    @Override
    public void stop() {
        if (kafka != null) kafka.stop();
        try (var files = Files.walk(work)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
