package io.pgrouter.packaged;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.pgrouter.testing.KubernetesApi;
import io.pgrouter.testing.Lake;
import io.pgrouter.testing.MockKubernetesApi;
import io.pgrouter.testing.RouterProcess;
import io.pgrouter.testing.Sql;
import io.pgrouter.testing.TestServers;

/**
 * Two packaged routers on one slot with leader election on: exactly one streams, the other is a ready standby naming
 * the leader; the leader killed with -9 is replaced once its Lease expires, and one stopped with SIGTERM hands over
 * at once; no row written meanwhile is missing from the lake; a leader that cannot reach the API server stops
 * streaming before its Lease could expire for anyone else.
 * <p>
 * The Kubernetes API here is fabric8's mock server ({@link MockKubernetesApi}), the stand-in that runs in every build;
 * {@link RealApiServerIT} runs the same test against a real kube-apiserver with RBAC.
 * <p>
 * Each failover is measured from the kill (or SIGTERM) to the first event the new leader delivers to the lake, with the
 * events it delivers twice (at-least-once). {@code -Dpgrouter.it.failover-rounds=10} repeats each kind ten times and
 * prints p50/max; {@code -Dpgrouter.it.lease-duration}, {@code renew-deadline} and {@code retry-period} replace the
 * test's short terms (6 s / 4 s / 1 s), e.g. with the defaults (15 s / 10 s / 1 s): see bench/failover.sh.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LeaderElectionIT {

    static final String LEASE = "pgrouter-ha";
    static final int ROUNDS = Integer.getInteger("pgrouter.it.failover-rounds", 1);
    static final Duration LEASE_DURATION = term("lease-duration", "6s"), RENEW_DEADLINE = term("renew-deadline", "4s"),
            RETRY_PERIOD = term("retry-period", "1s");

    final TestServers servers = new TestServers();
    final AtomicInteger nextId = new AtomicInteger();
    KubernetesApi api;
    Map<String, String> config;

    static Duration term(String name, String otherwise) {
        return Duration.parse("PT" + System.getProperty("pgrouter.it." + name, otherwise).toUpperCase());
    }

    /** The API server the routers elect through. */
    protected KubernetesApi startApi() throws Exception {
        return new MockKubernetesApi();
    }

    /**
     * The longest a SIGTERM handover (the Lease released at once) may take until the successor delivers; none here:
     * on a shared build machine starting the successor's sources alone can take longer, so this run reports it.
     */
    protected Optional<Duration> handoverLimit() {
        return Optional.empty();
    }

    @BeforeAll
    void start() throws Exception {
        config = new HashMap<>(servers.start());
        api = startApi();
        Path routes = Files.createTempDirectory("routes");
        Files.writeString(routes.resolve("wal-orders-to-lake.yaml"), """
                - route:
                    id: wal-orders-to-lake
                    from:
                      uri: pg:wal
                      parameters:
                        tables: test.ha_orders
                      steps:
                        - to: "kamelet:datalake-sink?target={{pgrouter.sinks.lake.root}}"
                - route:
                    id: notify-ha-to-webhook
                    from:
                      uri: pg:notify
                      parameters:
                        channels: ha_events
                      steps:
                        - to: "kamelet:webhook-sink?url={{pgrouter.test.receiver}}/ha-notify"
                """);
        config.put("pgrouter.routes.dir", routes.toString());
        config.put("pgrouter.wal.slot", "ha");
        config.put("pgrouter.wal.publication", "ha");
        config.put("pgrouter.ha.enabled", "true");
        config.put("pgrouter.ha.lease-duration", LEASE_DURATION.toMillis() + "ms");
        config.put("pgrouter.ha.renew-deadline", RENEW_DEADLINE.toMillis() + "ms");
        config.put("pgrouter.ha.retry-period", RETRY_PERIOD.toMillis() + "ms");
        config.putAll(api.routerConfig());
    }

    @AfterAll
    void stop() {
        if (api != null) api.close();
        servers.stop();
    }

    RouterProcess router(String name, int port) throws Exception {
        Map<String, String> c = new HashMap<>(config);
        c.put("pgrouter.ha.identity", name);
        c.put("quarkus.http.port", String.valueOf(port));
        // a lake folder per replica, as each pod has its own: a starting replica removes the unfinished files it finds
        // (a crash's leftovers), which in a shared folder would include the leader's open one
        c.put("pgrouter.sinks.lake.root", TestServers.lake.resolve(name).toString());
        return RouterProcess.start(c);
    }

    String holder() {
        Lease lease = api.client().resources(Lease.class).inNamespace(api.namespace()).withName(LEASE).get();
        return lease == null || lease.getSpec() == null ? null : lease.getSpec().getHolderIdentity();
    }

    static long streaming() {
        return Sql.count("SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'ha' AND active");
    }

    void write(int rows) {
        for (int i = 0; i < rows; i++) {
            int id = nextId.incrementAndGet();
            Sql.exec("INSERT INTO test.ha_orders VALUES (" + id + ", 'order " + id + "')");
        }
    }

    /** Every row in the replicas' lake files, duplicates included. */
    static List<Integer> lakeRows() {
        return Stream.of("router-a", "router-b").flatMap(name -> Lake.rows(name + "/test.ha_orders").stream()).map(r -> r.path("id").asInt()).toList();
    }

    static Set<Integer> inLake() {
        return new HashSet<>(lakeRows());
    }

    static String metrics(int port) throws Exception {
        return java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + port + "/q/metrics")).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString()).body();
    }

    static boolean ready(int port) throws Exception {
        return WalSourceFaultsIT.readiness(port).statusCode() == 200;
    }

    /** One failover: how long until the new leader delivered, and how many events it delivered twice. */
    record Failover(String kind, long deliveredAfterMs, long duplicates) {
    }

    /** Two routers, router-a and router-b, one of them leading; a replaced one comes back as the standby. */
    final class Pair {
        final Map<String, Integer> ports = new HashMap<>();
        final Map<String, RouterProcess> routers = new HashMap<>();
        final List<RouterProcess> stopped = new ArrayList<>();
        String leader;

        Pair() throws Exception {
            for (String name : List.of("router-a", "router-b")) {
                ports.put(name, WalSourceFaultsIT.freePort());
                routers.put(name, router(name, ports.get(name)));
            }
        }

        String standby() {
            return leader.equals("router-a") ? "router-b" : "router-a";
        }

        /**
         * Stops the leader (kill -9 or SIGTERM) while rows keep coming; measured from the signal to the first row the
         * successor adds to the lake (once the old leader is gone, nothing else writes there); all rows written before
         * the signal arrive. The old one comes back as the standby when asked.
         */
        Failover failover(boolean kill, boolean comeBack) throws Exception {
            String old = leader, successor = standby();
            long duplicatesBefore = duplicates();
            int lastBefore = nextId.get();
            long signalled = System.nanoTime();
            RouterProcess process = routers.get(old);
            if (kill) {
                process.kill();
            } else {
                process.close();
                stopped.add(process);
            }
            int present = lakeRows().size();
            await().atMost(LEASE_DURATION.multipliedBy(4)).pollInterval(Duration.ofMillis(100)).until(() -> lakeRows().size() > present);
            long deliveredAfterMs = (System.nanoTime() - signalled) / 1_000_000;
            await().atMost(Duration.ofSeconds(30)).until(() -> successor.equals(holder()) && streaming() == 1);
            leader = successor;
            await().atMost(Duration.ofSeconds(60)).until(() -> inLake().containsAll(ids(1, lastBefore)));
            if (comeBack) {
                routers.put(old, router(old, ports.get(old)));
                await().atMost(Duration.ofSeconds(90)).until(() -> ready(ports.get(old))
                        && WalSourceFaultsIT.readiness(ports.get(old)).body().contains("standby, leader is " + successor));
            }
            Failover f = new Failover(kill ? "kill -9" : "SIGTERM", deliveredAfterMs, duplicates() - duplicatesBefore);
            System.out.printf("[leader-election] %s of the leader -> first event delivered by the new leader after %d ms, %d delivered twice%n",
                    f.kind(), f.deliveredAfterMs(), f.duplicates());
            return f;
        }

        void closeAll() throws Exception {
            for (RouterProcess r : routers.values()) r.close();
        }
    }

    static Set<Integer> ids(int from, int to) {
        Set<Integer> ids = new HashSet<>();
        for (int i = from; i <= to; i++) ids.add(i);
        return ids;
    }

    static long duplicates() {
        List<Integer> rows = lakeRows();
        return rows.size() - new HashSet<>(rows).size();
    }

    @Test
    void oneReplicaStreamsAKilledLeaderIsReplacedAndAStoppedOneHandsOverWithoutLosingARow() throws Exception {
        Pair pair = new Pair();
        try {
            await().atMost(Duration.ofSeconds(90)).until(() -> ready(pair.ports.get("router-a")) && ready(pair.ports.get("router-b"))
                    && holder() != null && streaming() == 1);
            pair.leader = holder();
            int standbyPort = pair.ports.get(pair.standby());
            // the standby is ready, streams nothing, and says who leads (at its next try of the Lease, within a retry period)
            await().atMost(Duration.ofSeconds(15)).until(() -> WalSourceFaultsIT.readiness(standbyPort).body().contains("standby, leader is " + pair.leader));
            assertThat(WalSourceFaultsIT.readiness(standbyPort).body()).contains("\"role\": \"standby\"");
            assertThat(metrics(standbyPort)).contains("pgrouter_active 0.0");
            // the standby opens neither the slot nor a LISTEN connection while the leader lives
            await().atMost(Duration.ofSeconds(15)).until(() -> Sql.count("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pg-event-router-listen'") == 1);
            await().pollDelay(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(3)).until(() -> true); // a standby's tries meanwhile
            assertThat(Sql.count("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pg-event-router-listen'")).isEqualTo(1);
            assertThat(metrics(pair.ports.get(pair.leader))).contains("pgrouter_active 1.0");
            write(50);
            await().atMost(Duration.ofSeconds(30)).until(() -> inLake().size() == 50);

            // rows keep coming (20 a second) through every failover: the leader killed with -9 (replaced once its Lease
            // expired) and stopped with SIGTERM (the Lease handed back at once); each old leader comes back as the standby
            List<Failover> failovers = new ArrayList<>();
            ScheduledExecutorService writer = Executors.newSingleThreadScheduledExecutor();
            AtomicReference<RuntimeException> writeFailed = new AtomicReference<>();
            writer.scheduleAtFixedRate(() -> {
                try {
                    write(1);
                } catch (RuntimeException e) {
                    writeFailed.set(e);
                    throw e;
                }
            }, 0, 50, TimeUnit.MILLISECONDS);
            try {
                for (int i = 0; i < ROUNDS; i++) failovers.add(pair.failover(true, true));
                for (int i = 0; i < ROUNDS; i++) failovers.add(pair.failover(false, i < ROUNDS - 1));
            } finally {
                writer.shutdown();
                assertThat(writer.awaitTermination(30, TimeUnit.SECONDS)).isTrue();
            }
            assertThat(writeFailed.get()).as("writing rows during the failovers").isNull();
            // no row lost
            await().atMost(Duration.ofSeconds(60)).until(() -> inLake().size() == nextId.get());
            report(failovers);
            handoverLimit().ifPresent(limit -> assertThat(failovers).filteredOn(f -> f.kind().equals("SIGTERM"))
                    .allSatisfy(f -> assertThat(f.deliveredAfterMs()).as("SIGTERM handover, ms").isLessThanOrEqualTo(limit.toMillis())));
            RouterProcess survivor = pair.routers.get(pair.leader);
            assertThat(WalSourceFaultsIT.readiness(pair.ports.get(pair.leader)).body()).contains("\"role\": \"active\"");
            // standing by, taking over and handing over are not errors: neither the survivor nor a stopped leader logged one
            for (RouterProcess r : pair.stopped) assertThat(r.output()).as(r.output()).doesNotContain(" ERROR ").doesNotContain("Exception");
            assertThat(survivor.output()).as(survivor.output()).doesNotContain(" ERROR ").doesNotContain("Exception");

            // the API server goes away: the leader cannot renew and stops streaming before its Lease (valid for
            // lease-duration after its last renewal, at most a retry period before the cut) could expire for anyone else
            api.goAway();
            long cut = System.nanoTime();
            await().atMost(Duration.ofSeconds(30)).until(() -> streaming() == 0);
            long stoppedAfterMs = (System.nanoTime() - cut) / 1_000_000;
            System.out.printf("[leader-election] API server gone -> leader stopped streaming after %d ms (renew deadline %d ms, lease %d ms)%n",
                    stoppedAfterMs, RENEW_DEADLINE.toMillis(), LEASE_DURATION.toMillis());
            assertThat(stoppedAfterMs).isLessThan(RENEW_DEADLINE.plusSeconds(1).toMillis());
            // it waits quietly: the outage is said when it starts (and again only if the failure changes), not at every attempt
            await().pollDelay(Duration.ofSeconds(4)).atMost(Duration.ofSeconds(5)).until(() -> true);
            assertThat(survivor.output().lines().filter(l -> l.contains("reading and renewing the Lease:"))).as(survivor.output()).hasSizeBetween(1, 2);
            assertThat(survivor.output()).doesNotContain(" ERROR ");
            // back: it leads again and streams
            api.comeBack();
            await().atMost(Duration.ofSeconds(60)).ignoreExceptions().until(() -> pair.leader.equals(holder()) && streaming() == 1);
            int last = nextId.incrementAndGet();
            Sql.exec("INSERT INTO test.ha_orders VALUES (" + last + ", 'after the API server came back')");
            await().atMost(Duration.ofSeconds(30)).until(() -> inLake().contains(last));
        } finally {
            pair.closeAll();
        }
    }

    /** The figures as docs/kubernetes.md shows them: p50 and max per kind, duplicates per failover, rows lost. */
    void report(List<Failover> failovers) {
        System.out.printf("[leader-election] %s, lease %d s / renew %d s / retry %d s, %d rounds each, %d rows written, 0 lost%n",
                getClass().getSimpleName(), LEASE_DURATION.toSeconds(), RENEW_DEADLINE.toSeconds(), RETRY_PERIOD.toSeconds(), ROUNDS, nextId.get());
        System.out.println("[leader-election] | failover | runs | p50 | max | rows lost | delivered twice per failover (min / median / max) |");
        for (String kind : List.of("kill -9", "SIGTERM")) {
            List<Failover> of = failovers.stream().filter(f -> f.kind().equals(kind)).toList();
            long[] ms = of.stream().mapToLong(Failover::deliveredAfterMs).sorted().toArray();
            long[] dup = of.stream().mapToLong(Failover::duplicates).sorted().toArray();
            // p50: the nearest-rank median
            System.out.printf("[leader-election] | %s | %d | %.1f s | %.1f s | 0 | %d / %d / %d |%n", kind, ms.length,
                    ms[(ms.length + 1) / 2 - 1] / 1000.0, ms[ms.length - 1] / 1000.0, dup[0], dup[(dup.length + 1) / 2 - 1], dup[dup.length - 1]);
        }
    }
}
