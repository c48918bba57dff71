package io.pgrouter.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;

import io.fabric8.kubernetes.api.model.coordination.v1.LeaseBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;

/**
 * The router's memory (bench/rss.sh): for each set of JVM options ({@code bench.rss.variants}, separated by {@code |}),
 * the packaged router with the lake route as a leader under a paced load of {@code bench.rss.rate} events/s
 * ({@code bench.rss.rows}-row transactions) for {@code bench.rss.seconds}, then as a standby (leader election on, the
 * Lease held by another pod, on fabric8's mock API server). Prints peak RSS (VmHWM) and RSS at the end, the events/s
 * delivered against the rate asked for, and the commit-to-lake latency: these set the Kubernetes manifests' requests
 * and limits and JAVA_OPTS.
 */
public final class RssBench {

    static final int RATE = Integer.getInteger("bench.rss.rate", 5000);
    static final int ROWS = Integer.getInteger("bench.rss.rows", 100);
    static final int SECONDS = Integer.getInteger("bench.rss.seconds", 60);
    static final String VARIANTS = System.getProperty("bench.rss.variants",
            "-Xmx512m|-Xmx256m|-Xmx160m -XX:+UseSerialGC|-XX:MaxRAMPercentage=50 -XX:+UseSerialGC -Xss512k -XX:ReservedCodeCacheSize=64m");

    private RssBench() {
    }

    public static void main(String... args) throws Exception {
        Bench.runHarness(RssBench::run);
        // the mock API server's client threads are not daemons: exec:java would wait for them forever
        System.exit(0);
    }

    private record Row(String options, double leaderPeak, double leaderEnd, double delivered, double p50, double p99, double standby) {
    }

    private static void run() throws Exception {
        Bench.Setup setup = Bench.setUp("bench-rss");
        Path lakeRoute = setup.root().resolve("bench/routes/wal-bench-events-to-lake.yaml");
        KubernetesMockServer api = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(), new KubernetesCrudDispatcher(), true);
        api.init();
        Bench.open(api::destroy);
        KubernetesClient kube = Bench.open(api.createClient());
        List<Row> rows = new ArrayList<>();
        int n = 0;
        for (String variant : VARIANTS.split("\\|")) {
            n++;
            List<String> props = new ArrayList<>(List.of(variant.trim().split("\\s+")));
            // the leader: a paced load at the rate asked for
            RouterConsumer leader = new RouterConsumer("leader " + variant, setup.jar(), lakeRoute, List.of(), setup.work().resolve("leader-" + n),
                    setup.db().jdbcUrl(), "rss" + n, "bench.events", props.toArray(String[]::new));
            Bench.open(leader);
            double peak, end;
            Bench.Run run;
            try {
                leader.start();
                try (Connection c = setup.db().connect()) {
                    Bench.Writer w = new Bench.Writer(c, "bench.events");
                    for (int i = 0; i < 20; i++) w.many(); // warm-up
                    leader.arrivals().awaitAtLeast(20 * Bench.ROWS, 120_000, leader::alive);
                    run = Bench.pacedRows(leader, w, setup.admin(), RATE / ROWS * SECONDS, RATE / ROWS, ROWS);
                }
                peak = Procs.statusMiB(leader.process().pid(), "VmHWM");
                end = Procs.statusMiB(leader.process().pid(), "VmRSS");
            } finally {
                Bench.close(leader);
            }
            // the standby: leader election on, the Lease held by another pod for longer than the measurement
            // the router's Lease is named after its slot: pgrouter-<slot>, '_' as '-'
            String slot = "rss_standby" + n, lease = "pgrouter-" + slot.replace('_', '-');
            kube.resources(io.fabric8.kubernetes.api.model.coordination.v1.Lease.class).inNamespace("bench").resource(new LeaseBuilder()
                    .withNewMetadata().withName(lease).withNamespace("bench").endMetadata()
                    .withNewSpec().withHolderIdentity("other-pod").withLeaseDurationSeconds(3600)
                    .withAcquireTime(java.time.ZonedDateTime.now()).withRenewTime(java.time.ZonedDateTime.now()).endSpec().build()).create();
            // another pod leads: it renews the Lease every 2 s (an elector takes a Lease it has not seen renewed for its lease duration)
            java.util.concurrent.ScheduledExecutorService renewer = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "bench-other-pod");
                t.setDaemon(true);
                return t;
            });
            renewer.scheduleWithFixedDelay(() -> kube.resources(io.fabric8.kubernetes.api.model.coordination.v1.Lease.class).inNamespace("bench")
                    .withName(lease).edit(l -> {
                        l.getSpec().setRenewTime(java.time.ZonedDateTime.now());
                        return l;
                    }), 2, 2, java.util.concurrent.TimeUnit.SECONDS);
            List<String> standbyProps = new ArrayList<>(props);
            standbyProps.addAll(List.of("-Dpgrouter.ha.enabled=true", "-Dpgrouter.ha.identity=standby",
                    "-Dquarkus.kubernetes-client.api-server-url=https://" + api.getHostName() + ":" + api.getPort(),
                    "-Dquarkus.kubernetes-client.trust-certs=true", "-Dquarkus.kubernetes-client.namespace=bench",
                    "-Dquarkus.kubernetes-client.token=bench-token"));
            RouterConsumer standby = new RouterConsumer("standby " + variant, setup.jar(), lakeRoute, List.of(), setup.work().resolve("standby-" + n),
                    setup.db().jdbcUrl(), slot, "bench.events", standbyProps.toArray(String[]::new));
            Bench.open(standby);
            double standbyRss;
            try {
                standby.start();
                Thread.sleep(Math.min(30, SECONDS) * 1000L); // a standby only renews its view of the Lease: let it settle
                standbyRss = Procs.statusMiB(standby.process().pid(), "VmHWM");
                String holder = kube.resources(io.fabric8.kubernetes.api.model.coordination.v1.Lease.class).inNamespace("bench").withName(lease).get()
                        .getSpec().getHolderIdentity();
                if (!"other-pod".equals(holder)) throw new IllegalStateException("the standby took the Lease (holder " + holder + "): not a standby");
            } finally {
                Bench.close(standby);
                renewer.shutdownNow();
            }
            Row row = new Row(variant, peak, end, run.eventsPerSec(), Bench.percentile(run.latencies(), 50), Bench.percentile(run.latencies(), 99),
                    standbyRss);
            rows.add(row);
            Bench.say("%s: leader peak RSS %.0f MiB (%.0f at the end), %.0f events/s of %d asked, p50/p99 %.0f/%.0f ms; standby %.0f MiB", variant,
                    peak, end, row.delivered(), RATE, row.p50(), row.p99(), standbyRss);
        }
        StringBuilder table = new StringBuilder();
        table.append(String.format(Locale.ROOT, "| JVM options | leader: peak RSS MiB | RSS at the end | events/s delivered (of %d) | commit → lake p50 / p99 ms "
                + "| standby: peak RSS MiB |%n|---|---:|---:|---:|---:|---:|%n", RATE));
        for (Row r : rows) {
            table.append(String.format(Locale.ROOT, "| `%s` | %.0f | %.0f | %.0f | %.0f / %.0f | %.0f |%n", r.options(), r.leaderPeak(), r.leaderEnd(),
                    r.delivered(), r.p50(), r.p99(), r.standby()));
        }
        System.out.println();
        System.out.printf("## Router memory: leader at %d events/s (%d-row tx, %d s), standby%n%n", RATE, ROWS, SECONDS);
        System.out.print(table);
        Files.writeString(setup.work().resolve("results.md"), table.toString());
    }
}
