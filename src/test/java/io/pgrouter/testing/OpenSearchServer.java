package io.pgrouter.testing;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

/**
 * A real OpenSearch 2.19 node in its own JVM ({@link OpenSearchNode} on the test classpath), on loopback ports,
 * with its data in a temp dir: {@link #stop()} and {@link #start()} take it down and bring it back on the same port
 * and data. Hands its URL to the app as {@code pgrouter.test.search.url}.
 */
public class OpenSearchServer implements QuarkusTestResourceLifecycleManager {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();

    private static Path base;
    private static int httpPort;
    private static int transportPort;
    private static Process node;

    @Override
    public Map<String, String> start() {
        try {
            base = Files.createTempDirectory("pgrouter-opensearch");
            httpPort = freePort();
            transportPort = freePort();
            startNode();
            return Map.of("pgrouter.test.search.url", url());
        } catch (Exception e) {
            throw new IllegalStateException("OpenSearch did not start", e);
        }
    }

    public static String url() {
        return "http://127.0.0.1:" + httpPort;
    }

    /** Starts the node (again, on the same port and data) and waits until it answers with a usable cluster. */
    public static synchronized void startNode() throws IOException, InterruptedException {
        // not under setpriv --pdeathsig: that fires when the starting thread ends (Quarkus starts resources on a pool)
        String java = ProcessHandle.current().info().command().orElse("java");
        Path log = base.resolve("node.log");
        List<String> command = new java.util.ArrayList<>();
        command.addAll(List.of(java, "-Xms256m", "-Xmx512m", "-cp", System.getProperty("java.class.path"),
                OpenSearchNode.class.getName(), base.resolve("home").toString(), String.valueOf(httpPort), String.valueOf(transportPort)));
        node = new ProcessBuilder(command)
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        while (System.nanoTime() < deadline) {
            if (!node.isAlive()) throw new IllegalStateException("OpenSearch node exited: " + tail(log));
            try {
                if (call("GET", "/_cluster/health?wait_for_status=yellow&timeout=1s", null).statusCode() == 200) return;
            } catch (IOException notYet) {
                Thread.sleep(200);
            }
        }
        throw new IllegalStateException("OpenSearch did not answer within 120 s: " + tail(log));
    }

    /** Stops the node (SIGTERM, then kill -9 after 20 s): its port refuses connections until {@link #startNode()}. */
    public static synchronized void stopNode() throws InterruptedException {
        if (node == null) return;
        node.destroy();
        if (!node.waitFor(20, java.util.concurrent.TimeUnit.SECONDS)) {
            node.destroyForcibly();
            node.waitFor();
        }
        node = null;
    }

    @Override
    public void stop() {
        try {
            stopNode();
            try (var files = Files.walk(base)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException e) {
            // a temp dir left behind
        }
    }

    public static HttpResponse<String> call(String method, String path, String body) throws IOException, InterruptedException {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(url() + path)).timeout(Duration.ofSeconds(30))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (body != null) request.header("Content-Type", "application/json");
        return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** A request whose answer must be 2xx, as JSON. */
    public static JsonNode json(String method, String path, String body) {
        try {
            HttpResponse<String> response = call(method, path, body);
            if (response.statusCode() / 100 != 2) throw new IllegalStateException(method + " " + path + " answered " + response.statusCode() + ": " + response.body());
            return JSON.readTree(response.body());
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static String tail(Path log) {
        try {
            String text = Files.readString(log);
            return text.length() > 3000 ? text.substring(text.length() - 3000) : text;
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
