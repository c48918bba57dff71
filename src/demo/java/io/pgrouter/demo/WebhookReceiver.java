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

        /** A header by name, whatever its case (HttpServer capitalises the first letter). */
        public String header(String name) {
            return headers.entrySet().stream().filter(e -> e.getKey().equalsIgnoreCase(name)).map(e -> e.getValue().get(0)).findFirst().orElse(null);
        }
    }

    /** Every request, answered or not, with the status it got and when it arrived. */
    public record Attempt(Delivery request, int status, long receivedAtMillis) {
    }

    private final HttpServer server;
    private final List<Delivery> deliveries = new CopyOnWriteArrayList<>();
    private final List<Attempt> attempts = new CopyOnWriteArrayList<>();
    private final Map<String, java.util.Deque<Integer>> scripts = new java.util.concurrent.ConcurrentHashMap<>();
    private final Map<String, Long> delays = new java.util.concurrent.ConcurrentHashMap<>();
    private final Map<String, String> retryAfter = new java.util.concurrent.ConcurrentHashMap<>();
    private final java.util.concurrent.atomic.AtomicInteger inFlight = new java.util.concurrent.atomic.AtomicInteger();
    private final java.util.concurrent.atomic.AtomicInteger maxInFlight = new java.util.concurrent.atomic.AtomicInteger();
    private final Map<String, java.util.function.Supplier<String>> pages = new java.util.concurrent.ConcurrentHashMap<>();
    private volatile int status = 200;
    private volatile Consumer<Delivery> listener = d -> { };

    public WebhookReceiver(int port) throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 0);
        server.createContext("/", this::handle);
        server.setExecutor(Executors.newFixedThreadPool(8, r -> {
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
                Long delay = delays.get(d.path());
                if (delay != null) {
                    maxInFlight.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
                    try {
                        Thread.sleep(delay);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    } finally {
                        inFlight.decrementAndGet();
                    }
                }
                java.util.Deque<Integer> script = scripts.get(d.path());
                Integer scripted = script == null ? null : script.pollFirst();
                int answer = scripted != null ? scripted : status;
                attempts.add(new Attempt(d, answer, System.currentTimeMillis()));
                if (answer / 100 == 2) {
                    deliveries.add(d);
                    listener.accept(d);
                }
                if ((answer == 429 || answer == 503) && retryAfter.containsKey(d.path())) {
                    exchange.getResponseHeaders().add("Retry-After", retryAfter.get(d.path()));
                }
                // a redirect points somewhere real: a sender that followed it would show up there
                if (answer / 100 == 3) exchange.getResponseHeaders().add("Location", d.path() + "-moved");
                exchange.sendResponseHeaders(answer, -1);
                return;
            }
            java.util.function.Supplier<String> page = pages.get(exchange.getRequestURI().getPath());
            byte[] body = (page != null ? page.get() : "[" + String.join(",\n", bodies()) + "]\n").getBytes(StandardCharsets.UTF_8);
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

    /** The next requests to {@code path} are answered with these statuses, in order; then with the default. */
    public void script(String path, Integer... statuses) {
        scripts.put(path, new java.util.concurrent.ConcurrentLinkedDeque<>(List.of(statuses)));
    }

    /** Requests to {@code path} are answered after this long. */
    public void delay(String path, long millis) {
        delays.put(path, millis);
    }

    /** 429 and 503 answers on {@code path} carry this Retry-After value. */
    public void retryAfter(String path, String value) {
        retryAfter.put(path, value);
    }

    /** Most requests to delayed paths answered at the same time so far. */
    public int maxInFlight() {
        return maxInFlight.get();
    }

    public List<Attempt> attempts(String path) {
        return attempts.stream().filter(a -> a.request().path().equals(path)).toList();
    }

    public List<Delivery> deliveries(String path) {
        return deliveries.stream().filter(d -> d.path().equals(path)).toList();
    }

    /** A GET of {@code path} answers {@code json} (instead of the deliveries). */
    public void serve(String path, java.util.function.Supplier<String> json) {
        pages.put(path, json);
    }

    public void onDelivery(Consumer<Delivery> listener) {
        this.listener = listener;
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
