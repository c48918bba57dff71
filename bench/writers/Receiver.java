import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

/**
 * The webhook receiver of bench/writers.sh (run as a single source file: java Receiver.java <port file>). Answers every
 * POST at once and keeps, per pgchannel, how long after its commit each event arrived: arrival (this host's clock) minus
 * the event's time (the commit timestamp the WAL carries). GET /stats?channel=c prints "events p50_ms p99_ms" and forgets them.
 */
public class Receiver {

    private static final Pattern TIME = Pattern.compile("\"time\":\"([^\"]+)\"");
    private static final Pattern CHANNEL = Pattern.compile("\"pgchannel\":\"([^\"]+)\"");
    private static final Map<String, List<Long>> LATENCIES = new ConcurrentHashMap<>();

    public static void main(String[] args) throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 64);
        server.setExecutor(java.util.concurrent.Executors.newFixedThreadPool(16));
        server.createContext("/hook", Receiver::event);
        server.createContext("/stats", Receiver::stats);
        server.start();
        Files.writeString(Path.of(args[0]), String.valueOf(server.getAddress().getPort()));
    }

    private static void event(HttpExchange x) throws IOException {
        Instant arrived = Instant.now();
        String body;
        try (InputStream in = x.getRequestBody()) {
            body = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        Matcher time = TIME.matcher(body);
        Matcher channel = CHANNEL.matcher(body);
        if (time.find() && channel.find()) {
            long micros = Duration.between(Instant.parse(time.group(1)), arrived).toNanos() / 1000;
            LATENCIES.computeIfAbsent(channel.group(1), c -> Collections.synchronizedList(new ArrayList<>())).add(micros);
        }
        x.sendResponseHeaders(204, -1);
        x.close();
    }

    private static void stats(HttpExchange x) throws IOException {
        String channel = x.getRequestURI().getQuery().replaceFirst("^channel=", "");
        List<Long> got = LATENCIES.remove(channel);
        List<Long> sorted = got == null ? new ArrayList<>() : new ArrayList<>(got);
        Collections.sort(sorted);
        String answer = sorted.isEmpty() ? "0 - -"
                : String.format("%d %.1f %.1f", sorted.size(), rank(sorted, 0.50) / 1000.0, rank(sorted, 0.99) / 1000.0);
        byte[] out = (answer + "\n").getBytes(StandardCharsets.UTF_8);
        x.sendResponseHeaders(200, out.length);
        x.getResponseBody().write(out);
        x.close();
    }

    /** Nearest rank. */
    private static long rank(List<Long> sorted, double p) {
        return sorted.get(Math.max(0, (int) Math.ceil(p * sorted.size()) - 1));
    }
}
