package io.pgrouter.testing;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A self-signed server certificate for 127.0.0.1 and localhost (clients check the host name), made with the JDK's
 * keytool: the server's key store and the clients' trust store (PKCS12), and PEM files of the certificate and key
 * (openssl) for servers that read PEM.
 */
public record TestCertificates(Path keyStore, Path trustStore, String password, Path certificatePem, Path keyPem) {

    public static TestCertificates in(Path dir) throws Exception {
        String password = "store-" + java.util.UUID.randomUUID();
        Path keyStore = dir.resolve("server.p12");
        Path cert = dir.resolve("server.crt");
        Path trustStore = dir.resolve("trust.p12");
        Path key = dir.resolve("server.key");
        String keytool = Path.of(System.getProperty("java.home"), "bin", "keytool").toString();
        run(keytool, "-genkeypair", "-alias", "server", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=127.0.0.1",
                "-ext", "SAN=ip:127.0.0.1,dns:localhost", "-validity", "2", "-storetype", "PKCS12", "-keystore", keyStore.toString(), "-storepass", password);
        run(keytool, "-exportcert", "-rfc", "-alias", "server", "-keystore", keyStore.toString(), "-storepass", password, "-file", cert.toString());
        run(keytool, "-importcert", "-noprompt", "-alias", "server", "-file", cert.toString(), "-storetype", "PKCS12", "-keystore",
                trustStore.toString(), "-storepass", password);
        run("openssl", "pkcs12", "-in", keyStore.toString(), "-nocerts", "-nodes", "-passin", "pass:" + password, "-out", key.toString());
        return new TestCertificates(keyStore, trustStore, password, cert, key);
    }

    private static void run(String... command) throws Exception {
        Process p = new ProcessBuilder(new ArrayList<>(List.of(command))).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (p.waitFor() != 0) throw new IllegalStateException(command[0] + " " + command[1] + " failed: " + out);
    }
}
