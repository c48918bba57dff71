package io.pgrouter.sink.search;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.Base64;
import java.util.List;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

import io.pgrouter.delivery.SinkDeliveryException;

/**
 * The REST API OpenSearch and Elasticsearch share, over the JDK HTTP client (the Elasticsearch 8 Java client gets
 * 406 from OpenSearch): one or more nodes tried in turn when one is unreachable, basic auth or an API key, an
 * optional CA certificate for TLS. Answers are returned as they are; unreachable nodes and 429/5xx answers to the
 * whole request are thrown as retryable {@link SinkDeliveryException}s.
 */
final class SearchClient {

    /** The sink's name in dead letters, metrics and retry keys: its Kamelet's. */
    private static final String SINK = SearchConfig.SINK;

    record Answer(int status, String body) {
    }

    private final List<URI> nodes;
    private final String authorization;
    private final Duration timeout;
    private final HttpClient http;
    private volatile int current;

    SearchClient(List<URI> nodes, String username, String password, String apiKey, String caCertPath, long timeoutMs) {
        this.nodes = nodes;
        this.timeout = Duration.ofMillis(timeoutMs);
        if (apiKey != null && !apiKey.isBlank()) {
            authorization = "ApiKey " + apiKey.trim();
        } else if (username != null && !username.isBlank()) {
            authorization = "Basic " + Base64.getEncoder().encodeToString((username + ":" + (password == null ? "" : password)).getBytes(StandardCharsets.UTF_8));
        } else {
            authorization = null;
        }
        HttpClient.Builder builder = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(timeout)
                .followRedirects(HttpClient.Redirect.NEVER);
        if (caCertPath != null && !caCertPath.isBlank()) builder.sslContext(trusting(Path.of(caCertPath)));
        http = builder.build();
    }

    /** TLS that trusts the certificates in a PEM file (the cluster's CA), for clusters with their own CA. */
    static SSLContext trusting(Path pem) {
        try (InputStream in = Files.newInputStream(pem)) {
            KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
            store.load(null, null);
            int n = 0;
            for (Certificate cert : CertificateFactory.getInstance("X.509").generateCertificates(in)) store.setCertificateEntry("ca-" + n++, cert);
            if (n == 0) throw new IllegalArgumentException("search-index-sink caCertPath " + pem + " holds no certificate");
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(store);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, tmf.getTrustManagers(), null);
            return context;
        } catch (IOException | java.security.GeneralSecurityException e) {
            throw new IllegalArgumentException("search-index-sink cannot read caCertPath " + pem + ": " + e.getMessage(), e);
        }
    }

    /** The node requests go to, as shown in logs (nodes never carry credentials: those are parameters). */
    String where() {
        return nodes.get(current).toString();
    }

    /**
     * One request to the first node that answers. Throws a retryable failure when no node answers or the answer is
     * 429, 502, 503 or 504 (and 500, which a busy node gives too); other answers are returned for the caller to judge.
     */
    Answer call(String method, String path, String body, String contentType) throws SinkDeliveryException, InterruptedException {
        // bin/pgrouter routes test: the request goes to the capture, answered as by an empty index that takes every write
        if (io.pgrouter.delivery.DryRun.on()) return CapturedSearchRequests.call(method, nodes.get(current).resolve(path), body, contentType, authorization);
        IOException unreachable = null;
        for (int tried = 0; tried < nodes.size(); tried++) {
            int node = current;
            HttpRequest.Builder request = HttpRequest.newBuilder(nodes.get(node).resolve(path)).timeout(timeout)
                    .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8));
            if (body != null) request.header("Content-Type", contentType);
            if (authorization != null) request.header("Authorization", authorization);
            try {
                HttpResponse<String> response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
                int status = response.statusCode();
                if (retryable(status)) {
                    throw new SinkDeliveryException(SINK, nodes.get(node) + " answered " + status + " to " + method + " " + path, status,
                            excerpt(response.body()), 1, true, null, null);
                }
                return new Answer(status, response.body());
            } catch (IOException e) {
                unreachable = e;
                current = (node + 1) % nodes.size(); // the next node, for this request and the ones after it
            }
        }
        throw new SinkDeliveryException(SINK, "no search node answered (" + nodes + "): " + unreachable, null, String.valueOf(unreachable), 1, true,
                null, null);
    }

    /** Answers worth trying again: overload and a node that is starting or stopping. */
    static boolean retryable(int status) {
        return status == 429 || status == 500 || status == 502 || status == 503 || status == 504 || status == 408;
    }

    static String excerpt(String body) {
        if (body == null) return null;
        return body.length() > 500 ? body.substring(0, 500) + "..." : body;
    }
}
