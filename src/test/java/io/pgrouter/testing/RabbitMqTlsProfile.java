package io.pgrouter.testing;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import io.quarkus.test.junit.QuarkusTestProfile;

/**
 * The router with the RabbitMQ TLS test routes (src/test/routes/rabbitmq-tls) and a broker with a TLS listener
 * beside its plain one (the test reads through the plain one). Two sets of client settings: one trusting the broker's
 * certificate (pgrouter.test.rabbit-tls), one trusting another (pgrouter.test.rabbit-untrusted).
 */
public class RabbitMqTlsProfile implements QuarkusTestProfile {

    public static RabbitMqBroker broker;

    public static class TlsBroker implements QuarkusTestResourceLifecycleManager {
        private Path dir;

        @Override
        public Map<String, String> start() {
            try {
                // the broker runs as the rabbitmq user: it must read the certificate files
                dir = Files.createTempDirectory("pgrouter-rabbit-tls", PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
                TestCertificates certs = TestCertificates.in(Files.createDirectories(dir.resolve("broker")));
                TestCertificates other = TestCertificates.in(Files.createDirectories(dir.resolve("other")));
                for (Path f : List.of(certs.certificatePem(), certs.keyPem())) Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-r--r--"));
                Files.setPosixFilePermissions(certs.certificatePem().getParent(), PosixFilePermissions.fromString("rwxr-xr-x"));
                int tlsPort = Ports.free();
                broker = new RabbitMqBroker(RabbitMqResource.MAX_MESSAGE_BYTES, List.of(
                        "listeners.ssl.default = 127.0.0.1:" + tlsPort,
                        "ssl_options.cacertfile = " + certs.certificatePem(),
                        "ssl_options.certfile = " + certs.certificatePem(),
                        "ssl_options.keyfile = " + certs.keyPem(),
                        "ssl_options.verify = verify_none",
                        "ssl_options.fail_if_no_peer_cert = false")).start();
                return Map.ofEntries(
                        Map.entry("pgrouter.test.rabbit-plain-url", broker.url()),
                        Map.entry("pgrouter.test.rabbit-tls-url", "amqps://127.0.0.1:" + tlsPort + "/%2F"),
                        Map.entry("pgrouter.test.rabbit-tls.ssl.enabled", "true"),
                        Map.entry("pgrouter.test.rabbit-tls.ssl.trust.store", certs.trustStore().toString()),
                        Map.entry("pgrouter.test.rabbit-tls.ssl.trust.store.password", certs.password()),
                        Map.entry("pgrouter.test.rabbit-tls.ssl.trust.store.type", "PKCS12"),
                        Map.entry("pgrouter.test.rabbit-untrusted.ssl.enabled", "true"),
                        Map.entry("pgrouter.test.rabbit-untrusted.ssl.trust.store", other.trustStore().toString()),
                        Map.entry("pgrouter.test.rabbit-untrusted.ssl.trust.store.password", other.password()),
                        Map.entry("pgrouter.test.rabbit-untrusted.ssl.trust.store.type", "PKCS12"));
            } catch (Exception e) {
                throw new IllegalStateException("RabbitMQ with TLS did not start", e);
            }
        }

        @Override
        public void stop() {
            try {
                if (broker != null) broker.close();
                if (dir != null) {
                    try (var files = Files.walk(dir)) {
                        files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
                    }
                }
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
    }

    @Override
    public Map<String, String> getConfigOverrides() {
        return Map.of("camel.main.routes-include-pattern", "file:src/test/routes/rabbitmq-tls/*.yaml");
    }

    @Override
    public List<TestResourceEntry> testResources() {
        return List.of(new TestResourceEntry(TlsBroker.class));
    }
}
