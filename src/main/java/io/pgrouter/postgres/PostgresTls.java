package io.pgrouter.postgres;

import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;

import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.pgclient.SslMode;

/**
 * TLS to PostgreSQL, from the libpq parameters of {@code pgrouter.postgres.url} ({@code sslmode}, {@code sslrootcert},
 * {@code sslcert}, {@code sslkey}, {@code sslpassword}), applied to every connection the router opens: JDBC reads them
 * from the URL itself; Debezium's replication connection and the Vert.x LISTEN connection are given the same.
 * Without {@code sslmode} each client keeps its default (pgjdbc and Debezium: {@code prefer}); the LISTEN connection
 * does what {@code prefer} comes to, TLS when the server offers it (as the router's JDBC connection found), a plain
 * connection when not.
 */
public record PostgresTls(String mode, String rootCert, String cert, String key, String password) {

    public static PostgresTls parse(String jdbcUrl) {
        Map<String, String> q = query(jdbcUrl);
        return new PostgresTls(q.get("sslmode"), q.get("sslrootcert"), q.get("sslcert"), q.get("sslkey"), q.get("sslpassword"));
    }

    static Map<String, String> query(String jdbcUrl) {
        Map<String, String> params = new HashMap<>();
        if (jdbcUrl == null || !jdbcUrl.startsWith("jdbc:")) return params;
        String query = URI.create(jdbcUrl.substring("jdbc:".length())).getRawQuery();
        if (query == null) return params;
        for (String pair : query.split("&")) {
            int eq = pair.indexOf('=');
            if (eq <= 0) continue;
            params.put(URLDecoder.decode(pair.substring(0, eq), StandardCharsets.UTF_8), URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
        }
        return params;
    }

    /** Debezium's replication connection: database.ssl* as its PostgreSQL connector names them. */
    public void applyTo(Properties debezium) {
        if (mode != null) debezium.setProperty("database.sslmode", mode);
        if (rootCert != null) debezium.setProperty("database.sslrootcert", rootCert);
        if (cert != null) debezium.setProperty("database.sslcert", cert);
        if (key != null) debezium.setProperty("database.sslkey", key);
        if (password != null) debezium.setProperty("database.sslpassword", password);
    }

    /** The LISTEN connection: the same mode, CA and client certificate; verify-full checks the host name as pgjdbc does. */
    /**
     * The Vert.x LISTEN connection. {@code prefer} (also when no sslmode is given) becomes what it comes to on this
     * server, {@code require} when {@code serverOffersTls} (trusting the certificate as prefer does) and
     * {@code disable} when not, instead of Vert.x' own prefer: on a server without TLS that opens a second
     * connection for the plain attempt and leaves the first one open, and PostgreSQL keeps such a half-made
     * connection until its authentication_timeout (60 s), for which its fast shutdown waits. With
     * {@code serverOffersTls} null (not known yet) Vert.x' prefer is used.
     */
    public void applyTo(PgConnectOptions options, Boolean serverOffersTls) {
        SslMode ssl = mode == null ? SslMode.PREFER : SslMode.of(mode);
        if (ssl == SslMode.PREFER && serverOffersTls != null) ssl = serverOffersTls ? SslMode.REQUIRE : SslMode.DISABLE;
        options.setSslMode(ssl);
        String ca = rootCert != null ? rootCert : defaultRootCert();
        switch (ssl) {
            case VERIFY_CA, VERIFY_FULL -> {
                if (ca == null) {
                    throw new IllegalArgumentException("pgrouter.postgres.url has sslmode=" + mode
                            + " but no CA to verify the server with: add sslrootcert=<the CA's PEM file> to the URL");
                }
                options.setPemTrustOptions(new PemTrustOptions().addCertPath(ca));
                options.setHostnameVerificationAlgorithm(ssl == SslMode.VERIFY_FULL ? "HTTPS" : "");
            }
            // libpq's require and prefer encrypt without checking the certificate (unless a root certificate is given)
            case REQUIRE, PREFER, ALLOW -> {
                if (rootCert != null) {
                    options.setPemTrustOptions(new PemTrustOptions().addCertPath(rootCert));
                } else {
                    options.setTrustAll(true);
                }
                options.setHostnameVerificationAlgorithm("");
            }
            default -> {
            }
        }
        if (cert != null && key != null) options.setPemKeyCertOptions(new PemKeyCertOptions().addCertPath(cert).addKeyPath(key));
    }

    /** libpq's and pgjdbc's default CA file, when it exists. */
    private static String defaultRootCert() {
        Path root = Path.of(System.getProperty("user.home"), ".postgresql", "root.crt");
        return Files.isRegularFile(root) ? root.toString() : null;
    }
}
