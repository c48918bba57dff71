package io.pgrouter.demo;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.function.Consumer;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

/**
 * A real HTTP server that accepts webhook deliveries (JDK HttpServer): POST stores the body with its headers,
 * GET returns every delivery so far as a JSON array. The demo's receiver and the tests' one.
 */
public final class WebhookReceiver implements AutoCloseable {

    public record Delivery(String path, Map<String, List<String>> headers, String body) {
    }

    private final HttpServer server;
    private final List<Delivery> deliveries = new CopyOnWriteArrayList<>();
    private volatile int status = 200;
    private volatile Consumer<Delivery> listener = d -> { };

    public WebhookReceiver(int port) throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 0);
        server.createContext("/", this::handle);
        server.setExecutor(Executors.newFixedThreadPool(4, r -> {
            Thread t = new Thread(r, "webhook-receiver");
            t.setDaemon(true);
            return t;
        }));
        server.start();
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            if ("POST".equals(exchange.getRequestMethod())) {
                Delivery d = new Delivery(exchange.getRequestURI().getPath(), Map.copyOf(exchange.getRequestHeaders()),
                        new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
                int answer = status;
                if (answer / 100 == 2) {
                    deliveries.add(d);
                    listener.accept(d);
                }
                exchange.sendResponseHeaders(answer, -1);
                return;
            }
            byte[] body = ("[" + String.join(",\n", bodies()) + "]\n").getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().add("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        }
    }

    public String url(String path) {
        return "http://127.0.0.1:" + server.getAddress().getPort() + path;
    }

    public List<Delivery> deliveries() {
        return List.copyOf(deliveries);
    }

    public List<String> bodies() {
        List<String> result = new ArrayList<>();
        deliveries.forEach(d -> result.add(d.body()));
        return result;
    }

    public void clear() {
        deliveries.clear();
    }

    /** The status every following POST is answered with (non-2xx bodies are not kept). */
    public void answerWith(int status) {
        this.status = status;
    }

    public void onDelivery(Consumer<Delivery> listener) {
        this.listener = listener;
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
