package io.pgrouter.bench;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * One sink's destination down (bench/sinkdown.sh, README in bench/): the lake route's throughput on its own, then with
 * a second route on the same WAL source sending every event to a webhook whose receiver refuses connections, and for
 * reference to one that answers 204 at once (what a second route costs when nothing is down). Each case is its own
 * router (own slot), measured in turn {@code bench.sinkdown.repeats} times on the same loads: 1-row transactions flat
 * out, 1000-row transactions flat out, and 1-row transactions paced below the lake route's capacity (there: events/s
 * delivered and commit-to-lake latency). events/s = events / (last lake file seen - first statement sent), as in
 * {@link Bench}. The figure is the ratio of the medians: beside the down webhook / beside the same webhook up (what the
 * route had before its neighbour's destination went down), and / alone.
 */
public final class SinkDownBench {

    static final int TX1 = Integer.getInteger("bench.sinkdown.tx1", 5000);
    static final int TXN = Integer.getInteger("bench.sinkdown.txn", 100);
    static final int REPEATS = Integer.getInteger("bench.sinkdown.repeats", 3);
    /** The paced load: this many 1-row transactions at this rate, below what the lake route can take in every case. */
    static final int PACED_TX = Integer.getInteger("bench.sinkdown.paced.tx", 5000);
    static final int PACED_RATE = Integer.getInteger("bench.sinkdown.paced.rate", 1000);
    static final long TIMEOUT_MS = 300_000;

    private SinkDownBench() {
    }

    public static void main(String... args) throws Exception {
        Bench.runHarness(SinkDownBench::run);
    }

    private static void run() throws Exception {
        Bench.Setup setup = Bench.setUp("bench-sinkdown");
        Path lakeRoute = setup.root().resolve("bench/routes/wal-bench-events-to-lake.yaml");
        Path webhookRoute = setup.root().resolve("bench/routes/wal-bench-events-to-webhook.yaml");
        // nothing listens on the port of a socket just closed: connections are refused at once
        String downUrl = "http://127.0.0.1:" + Procs.freePort() + "/hook";
        com.sun.net.httpserver.HttpServer receiver = com.sun.net.httpserver.HttpServer.create(
                new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), 0), 64);
        receiver.createContext("/", exchange -> {
            try (exchange) {
                exchange.getRequestBody().readAllBytes();
                exchange.sendResponseHeaders(204, -1);
            }
        });
        java.util.concurrent.ExecutorService handlers = java.util.concurrent.Executors.newFixedThreadPool(4);
        receiver.setExecutor(handlers);
        receiver.start();
        // the pool's threads would keep exec:java waiting after the results are printed
        Bench.open(() -> {
            receiver.stop(0);
            handlers.shutdownNow();
        });
        String upUrl = "http://127.0.0.1:" + receiver.getAddress().getPort() + "/hook";
        // loads: 0 = 1-row flat out, 1 = N-row flat out, 2 = 1-row paced (events/s delivered)
        double[][] alone = new double[3][REPEATS];
        double[][] withDown = new double[3][REPEATS];
        double[][] withUp = new double[3][REPEATS];
        // paced latencies, pooled over the repetitions, per case: alone, down, up
        List<List<Double>> pacedLatency = List.of(new ArrayList<>(), new ArrayList<>(), new ArrayList<>());
        String health = "";
        long parked = 0;
        for (int r = 0; r < REPEATS; r++) {
            measure(new RouterConsumer("lake only", setup.jar(), lakeRoute, setup.work().resolve("alone-" + r), setup.db().jdbcUrl(), "alone" + r,
                    "bench.events"), setup, alone, pacedLatency.get(0), r);
            RouterConsumer down = new RouterConsumer("lake + down webhook", setup.jar(), lakeRoute, List.of(webhookRoute), setup.work().resolve("down-" + r),
                    setup.db().jdbcUrl(), "down" + r, "bench.events", "-Dpgrouter.bench.webhook-url=" + downUrl);
            health = measure(down, setup, withDown, pacedLatency.get(1), r);
            try (Statement s = setup.admin().createStatement(); ResultSet rs = s.executeQuery("SELECT count(*) FROM pgrouter.retries")) {
                rs.next();
                parked = rs.getLong(1);
                s.execute("TRUNCATE pgrouter.retries");
            }
            measure(new RouterConsumer("lake + webhook up", setup.jar(), lakeRoute, List.of(webhookRoute), setup.work().resolve("up-" + r),
                    setup.db().jdbcUrl(), "up" + r, "bench.events", "-Dpgrouter.bench.webhook-url=" + upUrl), setup, withUp, pacedLatency.get(2), r);
        }
        String[] loads = {"1-row tx flat out (" + TX1 + " tx)", Bench.ROWS + "-row tx flat out (" + TXN + " tx)",
                "1-row tx paced at " + PACED_RATE + " tx/s (" + PACED_TX + " tx)"};
        StringBuilder table = new StringBuilder();
        table.append("| load | lake route alone, events/s [min–max] | beside a webhook that is up [min–max] | beside the same webhook down [min–max] "
                + "| kept: down / up | down / alone |\n");
        table.append("|---|---:|---:|---:|---:|---:|\n");
        for (int l = 0; l < 3; l++) {
            table.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | **%.0f %%** | %.0f %% |%n", loads[l], cell(alone[l]), cell(withUp[l]),
                    cell(withDown[l]), 100 * Bench.median(withDown[l]) / Bench.median(withUp[l]), 100 * Bench.median(withDown[l]) / Bench.median(alone[l])));
        }
        table.append(String.format(Locale.ROOT, "%nPaced load, commit → lake latency p50 / p99 ms (all repetitions): alone %s; beside the webhook up %s; "
                + "beside it down %s%n", latency(pacedLatency.get(0)), latency(pacedLatency.get(2)), latency(pacedLatency.get(1))));
        System.out.println();
        System.out.println("## One sink's destination down: the other route's throughput (" + REPEATS + " repetitions, medians)");
        System.out.println();
        System.out.print(table);
        System.out.println();
        System.out.println("Events parked in the retry store by the down webhook in the last repetition: " + parked);
        System.out.println("Readiness of the router with the down webhook (last repetition): " + health);
        Files.writeString(setup.work().resolve("results.md"), table.toString());
    }

    /** Starts the router, warms it up, runs both loads once; returns its readiness answer; stops it. */
    private static String measure(RouterConsumer router, Bench.Setup setup, double[][] eventsPerSec, List<Double> pacedLatency, int repetition)
            throws Exception {
        Bench.open(router);
        try {
            router.start();
            Bench.say("%s, repetition %d: warming up", router.name(), repetition + 1);
            try (Connection c = setup.db().connect()) {
                Bench.Writer w = new Bench.Writer(c, "bench.events");
                int expected = 0;
                for (int i = 0; i < 1000; i++) w.one();
                for (int i = 0; i < 5; i++) w.many();
                expected += 1000 + 5 * Bench.ROWS;
                await(router, expected);
                router.arrivals().drain();

                long start = Arrivals.nowMicros();
                for (int i = 0; i < TX1; i++) w.one();
                eventsPerSec[0][repetition] = rate(router, TX1, start);
                start = Arrivals.nowMicros();
                for (int i = 0; i < TXN; i++) w.many();
                eventsPerSec[1][repetition] = rate(router, TXN * Bench.ROWS, start);
                Bench.Run paced = Bench.paced(router, w, setup.admin(), PACED_TX, PACED_RATE);
                if (!paced.complete()) {
                    throw new IllegalStateException(router.name() + ": paced load incomplete: " + paced.received() + " of " + paced.expected());
                }
                eventsPerSec[2][repetition] = paced.eventsPerSec();
                for (double v : paced.latencies()) pacedLatency.add(v);
                Bench.say("%s, repetition %d: %.0f events/s (1-row tx), %.0f events/s (%d-row tx), %.0f events/s paced (p99 %.0f ms)", router.name(),
                        repetition + 1, eventsPerSec[0][repetition], eventsPerSec[1][repetition], Bench.ROWS, eventsPerSec[2][repetition],
                        Bench.percentile(paced.latencies(), 99));
            }
            return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + router.httpPort() + "/q/health/ready")).build(),
                    HttpResponse.BodyHandlers.ofString()).body().replaceAll("\\s+", " ");
        } finally {
            Bench.close(router);
        }
    }

    private static void await(RouterConsumer router, int n) throws Exception {
        if (!router.arrivals().awaitAtLeast(n, TIMEOUT_MS, router::alive)) {
            throw new IllegalStateException(router.name() + ": " + router.arrivals().size() + " of " + n + " events arrived; see " + router.log());
        }
    }

    private static double rate(RouterConsumer router, int n, long startMicros) throws Exception {
        await(router, n);
        List<Arrivals.Arrival> got = new ArrayList<>(router.arrivals().drain());
        long last = got.stream().mapToLong(Arrivals.Arrival::stampMicros).max().orElseThrow();
        return n / ((last - startMicros) / 1e6);
    }

    private static String cell(double[] v) {
        return String.format(Locale.ROOT, "%.0f [%.0f–%.0f]", Bench.median(v), min(v), max(v));
    }

    private static String latency(List<Double> v) {
        double[] sorted = v.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return String.format(Locale.ROOT, "%.0f / %.0f", Bench.percentile(sorted, 50), Bench.percentile(sorted, 99));
    }

    private static double min(double[] v) {
        double m = Double.MAX_VALUE;
        for (double x : v) m = Math.min(m, x);
        return m;
    }

    private static double max(double[] v) {
        double m = 0;
        for (double x : v) m = Math.max(m, x);
        return m;
    }
}
