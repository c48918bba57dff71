package io.pgrouter.bench;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;

import com.fasterxml.jackson.databind.ObjectMapper;

import io.pgrouter.testing.KafkaNode;

/**
 * The Kafka tier (bench/tier2.sh, README in bench/): a first-tier router writes bench.events to Kafka (pg:wal to the
 * kafka sink), second-tier routers read it in one consumer group and post each event to a webhook receiver that
 * answers after 50 ms ({@code bench.tier2.delay-ms}).
 * <ul>
 * <li>Throughput per number of second-tier routers (1, 2, 4): once the N routers share the partitions, one statement
 * writes {@code events-per-router} x N rows (the first tier puts them in Kafka far faster than a 50 ms receiver takes
 * them); events/s = the middle 80 % of them / the time between the 10 % and 90 % arrivals.</li>
 * <li>Latency through both tiers: one-row transactions at a paced rate below capacity with
 * {@code bench.tier2.paced-routers} second-tier routers running, after a warm-up of the same load; commit (the event's time, PostgreSQL's commit
 * timestamp) to the moment the receiver gets the request, p50/p99/max.</li>
 * </ul>
 * The routers keep the webhook sink's defaults (8 requests in flight per router). Rounds run one after the other on
 * one group: a round's routers are stopped with SIGTERM (offsets committed) before the next starts.
 */
public final class TierBench {

    static final int PER_ROUTER = Integer.getInteger("bench.tier2.events-per-router", 2400);
    static final int DELAY_MS = Integer.getInteger("bench.tier2.delay-ms", 50);
    static final int PARTITIONS = Integer.getInteger("bench.tier2.partitions", 16);
    static final int PACED_RATE = Integer.getInteger("bench.tier2.paced.rate", 100);
    static final int PACED_SECONDS = Integer.getInteger("bench.tier2.paced.seconds", 20);
    static final int PACED_ROUTERS = Integer.getInteger("bench.tier2.paced-routers", 2);
    static final int PACED_WARMUP_SECONDS = Integer.getInteger("bench.tier2.paced.warmup-seconds", 5);
    static final List<Integer> ROUTERS = Arrays.stream(System.getProperty("bench.tier2.routers", "1,2,4").split(",")).map(String::trim)
            .map(Integer::valueOf).toList();
    static final String TOPIC = "pg.bench.events", GROUP = "bench-tier2";
    private static final ObjectMapper JSON = new ObjectMapper();

    private TierBench() {
    }

    public static void main(String... args) throws Exception {
        Bench.runHarness(TierBench::run);
    }

    private static void run() throws Exception {
        Bench.Setup setup = Bench.setUp("bench-tier2");
        Path kafkaDir = Files.createDirectories(setup.work().resolve("kafka"));
        KafkaNode kafka = new KafkaNode(kafkaDir, Map.of("num.partitions", String.valueOf(PARTITIONS)));
        kafka.start();
        Bench.open(kafka::stop);
        Properties ap = new Properties();
        ap.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        Admin admin = Bench.open(Admin.create(ap));
        admin.createTopics(List.of(new NewTopic(TOPIC, PARTITIONS, (short) 1))).all().get();
        // as many requests at once as 4 routers send (8 each), and more
        WebhookBench.Receiver receiver = Bench.open(new WebhookBench.Receiver(256));
        receiver.delayMs = DELAY_MS;

        Path routes = Files.createDirectories(setup.work().resolve("routes"));
        Path tier1Routes = Files.createDirectories(routes.resolve("tier1")), tier2Routes = Files.createDirectories(routes.resolve("tier2"));
        Files.writeString(tier1Routes.resolve("wal-bench-events-to-kafka.yaml"), """
                - route:
                    id: wal-bench-events-to-kafka
                    from:
                      uri: pg:wal
                      parameters:
                        tables: bench.events
                      steps:
                        - to: "kamelet:kafka-sink?brokers={{pgrouter.kafka.bootstrap-servers}}&topic=pg.${schema}.${table}"
                """);
        Files.writeString(tier2Routes.resolve("kafka-bench-events-to-webhook.yaml"), """
                - route:
                    id: kafka-bench-events-to-webhook
                    from:
                      uri: pg:kafka
                      parameters:
                        topics: %s
                        group: %s
                      steps:
                        - to: "kamelet:webhook-sink?url=%s"
                """.formatted(TOPIC, GROUP, receiver.url()));
        Bench.say("starting the first tier (pg:wal -> kafka sink)");
        Router tier1 = Bench.open(new Router(setup, "tier1", tier1Routes, kafka.bootstrapServers()));
        tier1.awaitReady();

        StringBuilder table = new StringBuilder();
        table.append(String.format(Locale.ROOT, "| second-tier routers | events | events/s to a %d ms receiver | per router | vs 1 router |%n", DELAY_MS));
        table.append("|---|---|---|---|---|\n");
        double one = 0;
        try (Connection c = setup.db().connect(); var insert = c.prepareStatement("INSERT INTO bench.events (n, payload) SELECT g, 'tier' FROM generate_series(1, ?) g")) {
            for (int n : ROUTERS) {
                int events = PER_ROUTER * n;
                receiver.arrivals.drain();
                Bench.say("starting %d second-tier router(s)", n);
                List<Router> tier2 = routers(setup, "tier2-" + n, n, tier2Routes, kafka.bootstrapServers());
                awaitGroupReady(admin, n);
                // one statement: the first tier writes it to Kafka far faster than the second tier delivers it
                insert.setInt(1, events);
                insert.executeUpdate();
                long[] times = arrivalMillis(awaitArrivals(receiver, events, Duration.ofMinutes(10)));
                double rate = 0.8 * events / ((times[(int) (events * 0.9) - 1] - times[(int) (events * 0.1)]) / 1000.0);
                if (n == 1) one = rate;
                table.append(String.format(Locale.ROOT, "| %d | %d | %.0f | %.0f | %s |%n", n, events, rate, rate / n,
                        one == 0 ? "" : String.format(Locale.ROOT, "%.2fx", rate / one)));
                Bench.say("%d router(s): %.0f events/s", n, rate);
                for (Router r : tier2) Bench.close(r);
            }

            // latency through both tiers at a paced load
            receiver.arrivals.drain();
            List<Router> tier2 = routers(setup, "tier2-paced", PACED_ROUTERS, tier2Routes, kafka.bootstrapServers());
            awaitGroupReady(admin, PACED_ROUTERS);
            int count = PACED_RATE * PACED_SECONDS, warmUp = PACED_RATE * PACED_WARMUP_SECONDS;
            // the new routers' first requests (connections, JIT) are not the tier's steady state: a warm-up, not measured
            Bench.say("paced: warming up with %d one-row transactions at %d/s", warmUp, PACED_RATE);
            paced(c, warmUp);
            awaitArrivals(receiver, warmUp, Duration.ofMinutes(5));
            receiver.arrivals.drain();
            Bench.say("paced: %d one-row transactions at %d/s through both tiers with %d second-tier routers", count, PACED_RATE, PACED_ROUTERS);
            paced(c, count);
            double[] latency = latencyMillis(awaitArrivals(receiver, count, Duration.ofMinutes(5)));
            table.append(String.format(Locale.ROOT, "%n| commit -> received through both tiers | rate | routers | p50 | p99 | max |%n|---|---|---|---|---|---|%n"));
            table.append(String.format(Locale.ROOT, "| %d one-row transactions | %d/s | %d | %.0f ms | %.0f ms | %.0f ms |%n", count, PACED_RATE, PACED_ROUTERS,
                    Bench.percentile(latency, 50), Bench.percentile(latency, 99), latency[latency.length - 1]));
            for (Router r : tier2) Bench.close(r);
        }
        Bench.close(tier1);
        System.out.println();
        System.out.println("## Kafka tier: second-tier routers in one consumer group, webhook receiver answering after " + DELAY_MS + " ms");
        System.out.println();
        System.out.print(table);
        System.out.println();
        System.out.println("- load average at the end: " + Bench.loadAverage());
        Files.writeString(setup.work().resolve("results.md"), table.toString());
    }

    /** {@code count} one-row transactions at {@link #PACED_RATE}, on a fixed schedule (a late one does not shift the rest). */
    static void paced(Connection c, int count) throws Exception {
        try (var insert = c.prepareStatement("INSERT INTO bench.events (n, payload) VALUES (1, 'paced')")) {
            long t0 = System.nanoTime(), step = 1_000_000_000L / PACED_RATE;
            for (int i = 0; i < count; i++) {
                long wait = t0 + i * step - System.nanoTime();
                if (wait > 0) java.util.concurrent.locks.LockSupport.parkNanos(wait);
                insert.executeUpdate();
            }
        }
    }

    /**
     * {@code n} second-tier routers, started at the same time from this thread (a child dies with the thread that
     * started it: setpriv --pdeathsig), then awaited until ready.
     */
    static List<Router> routers(Bench.Setup setup, String name, int n, Path routes, String kafka) throws Exception {
        List<Router> routers = new ArrayList<>();
        for (int i = 0; i < n; i++) routers.add(Bench.open(new Router(setup, name + "-" + i, routes, kafka)));
        for (Router r : routers) r.awaitReady();
        return routers;
    }

    /** Waits until the group has {@code members} members sharing every partition. */
    static void awaitGroupReady(Admin admin, int members) throws Exception {
        long deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos();
        while (System.nanoTime() < deadline) {
            try {
                var group = admin.describeConsumerGroups(List.of(GROUP)).all().get().get(GROUP);
                if (group.members().size() == members
                        && group.members().stream().mapToInt(m -> m.assignment().topicPartitions().size()).sum() == PARTITIONS) {
                    return;
                }
            } catch (java.util.concurrent.ExecutionException notYet) {
                // no member joined yet
            }
            Thread.sleep(200);
        }
        throw new IllegalStateException("the group did not settle on " + members + " members within 3 minutes");
    }

    /** The first arrival of each event, by id, once {@code count} events arrived; throws when they do not all arrive in time. */
    static Map<String, Arrivals.Arrival> awaitArrivals(WebhookBench.Receiver receiver, int count, Duration timeout) throws Exception {
        Map<String, Arrivals.Arrival> first = new java.util.HashMap<>();
        long deadline = System.nanoTime() + timeout.toNanos();
        while (first.size() < count) {
            if (System.nanoTime() > deadline) throw new IllegalStateException(first.size() + " of " + count + " events arrived");
            for (Arrivals.Arrival a : receiver.arrivals.drain()) first.putIfAbsent(JSON.readTree((String) a.item()).get("id").asText(), a);
            Thread.sleep(100);
        }
        return first;
    }

    /** Arrival times in epoch milliseconds, sorted. */
    static long[] arrivalMillis(Map<String, Arrivals.Arrival> arrivals) {
        return arrivals.values().stream().mapToLong(a -> a.stampMicros() / 1000).sorted().toArray();
    }

    /** Commit (the event's time) to arrival, in milliseconds, sorted. */
    static double[] latencyMillis(Map<String, Arrivals.Arrival> arrivals) throws Exception {
        double[] latency = new double[arrivals.size()];
        int i = 0;
        for (Arrivals.Arrival a : arrivals.values()) {
            Instant commit = Instant.parse(JSON.readTree((String) a.item()).get("time").asText());
            latency[i++] = (a.stampMicros() - (commit.getEpochSecond() * 1_000_000L + commit.getNano() / 1_000)) / 1000.0;
        }
        Arrays.sort(latency);
        return latency;
    }

    /** A packaged router with one folder of routes, started and ready. */
    static final class Router implements AutoCloseable {
        final Process process;
        final String name;

        Router(Bench.Setup setup, String name, Path routes, String kafka) throws Exception {
            this.name = name;
            int port = Procs.freePort();
            Path work = Files.createDirectories(setup.work().resolve(name));
            List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m",
                    "-Dpgrouter.postgres.url=" + setup.db().jdbcUrl(), "-Dpgrouter.postgres.user=postgres",
                    "-Dpgrouter.routes.dir=" + routes, "-Dpgrouter.wal.slot=tier1", "-Dpgrouter.wal.publication=tier1",
                    "-Dpgrouter.kafka.bootstrap-servers=" + kafka, "-Dquarkus.http.host=127.0.0.1", "-Dquarkus.http.port=" + port,
                    "-jar", setup.jar().toString()));
            Path log = work.resolve("router.log");
            process = new ProcessBuilder(Procs.dieWithParent(cmd)).directory(work.toFile()).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            this.log = log;
            this.port = port;
        }

        private final Path log;
        private final int port;

        /** Returns once /q/health/ready answers 200; throws if the router exits or is not ready within 180 s. */
        void awaitReady() throws Exception {
            HttpClient http = HttpClient.newHttpClient();
            HttpRequest ready = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/q/health/ready")).build();
            long deadline = System.nanoTime() + Duration.ofSeconds(180).toNanos();
            while (System.nanoTime() < deadline) {
                if (!process.isAlive()) throw new IllegalStateException(name + " exited; see " + log);
                try {
                    if (http.send(ready, HttpResponse.BodyHandlers.discarding()).statusCode() == 200) return;
                } catch (java.io.IOException notYet) {
                    // not listening yet
                }
                Thread.sleep(200);
            }
            throw new IllegalStateException(name + " was not ready within 180 s; see " + log + ": "
                    + new String(Files.readAllBytes(log), StandardCharsets.UTF_8));
        }

        @Override
        public void close() {
            Procs.stop(process, 30_000);
        }

        @Override
        public String toString() {
            return "router " + name;
        }
    }
}
