package io.pgrouter.packaged;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.pgrouter.testing.Lake;
import io.pgrouter.testing.RouterProcess;
import io.pgrouter.testing.Sql;
import io.pgrouter.testing.TestServers;

/**
 * Two packaged routers on one slot with leader election on: exactly one streams, the other is a ready standby naming
 * the leader; the leader killed with -9 is replaced once its Lease expires, and one stopped with SIGTERM hands over
 * at once; no row written meanwhile is missing from the lake.
 * <p>
 * The Kubernetes API is fabric8's mock server in CRUD mode (Leases stored, updates with a stale resourceVersion
 * refused with 409, as the real API server does): the faithful stand-in that runs here. It has no RBAC; the Role in
 * k8s/base is checked by the documented opt-in run against a real cluster (docs/kubernetes.md).
 */
class LeaderElectionIT {

    static final TestServers servers = new TestServers();
    static KubernetesMockServer api;
    static KubernetesClient kube;
    static Map<String, String> config;
    static final String LEASE = "pgrouter-ha";
    static final AtomicInteger nextId = new AtomicInteger();

    @BeforeAll
    static void start() throws Exception {
        config = new HashMap<>(servers.start());
        api = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(), new KubernetesCrudDispatcher(), true);
        api.init();
        kube = api.createClient();
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
        // shorter terms than the defaults (15 s / 10 s / 1 s) keep the test short
        config.put("pgrouter.ha.lease-duration", "6s");
        config.put("pgrouter.ha.renew-deadline", "4s");
        config.put("pgrouter.ha.retry-period", "1s");
        config.put("quarkus.kubernetes-client.api-server-url", "https://" + api.getHostName() + ":" + api.getPort());
        config.put("quarkus.kubernetes-client.trust-certs", "true");
        config.put("quarkus.kubernetes-client.namespace", "test");
        config.put("quarkus.kubernetes-client.token", "test-token");
    }

    @AfterAll
    static void stop() {
        if (kube != null) kube.close();
        if (api != null) api.destroy();
        servers.stop();
    }

    static RouterProcess router(String name, int port) throws Exception {
        Map<String, String> c = new HashMap<>(config);
        c.put("pgrouter.ha.identity", name);
        c.put("quarkus.http.port", String.valueOf(port));
        return RouterProcess.start(c);
    }

    static String holder() {
        Lease lease = kube.resources(Lease.class).inNamespace("test").withName(LEASE).get();
        return lease == null || lease.getSpec() == null ? null : lease.getSpec().getHolderIdentity();
    }

    static long streaming() {
        return Sql.count("SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'ha' AND active");
    }

    static void write(int rows) {
        for (int i = 0; i < rows; i++) {
            int id = nextId.incrementAndGet();
            Sql.exec("INSERT INTO test.ha_orders VALUES (" + id + ", 'order " + id + "')");
        }
    }

    static Set<Integer> inLake() {
        Set<Integer> ids = new HashSet<>();
        Lake.rows("test.ha_orders").forEach(r -> ids.add(r.path("id").asInt()));
        return ids;
    }

    static String metrics(int port) throws Exception {
        return java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + port + "/q/metrics")).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString()).body();
    }


    @Test
    void oneReplicaStreamsAKilledLeaderIsReplacedAndAStoppedOneHandsOverWithoutLosingARow() throws Exception {
        int portA = WalSourceFaultsIT.freePort(), portB = WalSourceFaultsIT.freePort();
        RouterProcess a = router("router-a", portA), b = router("router-b", portB);
        try {
            await().atMost(Duration.ofSeconds(90)).until(() -> WalSourceFaultsIT.readiness(portA).statusCode() == 200
                    && WalSourceFaultsIT.readiness(portB).statusCode() == 200 && holder() != null && streaming() == 1);
            String first = holder();
            int standbyPort = first.equals("router-a") ? portB : portA;
            // the standby is ready, streams nothing, and says who leads
            // the standby sees the Lease's holder at its next try (within a retry period)
            await().atMost(Duration.ofSeconds(15)).until(() -> WalSourceFaultsIT.readiness(standbyPort).body().contains("standby, leader is " + first));
            assertThat(WalSourceFaultsIT.readiness(standbyPort).body()).contains("\"role\": \"standby\"");
            assertThat(metrics(standbyPort)).contains("pgrouter_active 0.0");
            // the standby opens neither the slot nor a LISTEN connection while the leader lives
            await().atMost(Duration.ofSeconds(15)).until(() -> Sql.count("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pg-event-router-listen'") == 1);
            await().pollDelay(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(3)).until(() -> true); // a standby's tries meanwhile
            assertThat(Sql.count("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pg-event-router-listen'")).isEqualTo(1);
            assertThat(metrics(standbyPort == portA ? portB : portA)).contains("pgrouter_active 1.0");
            write(50);
            await().atMost(Duration.ofSeconds(30)).until(() -> inLake().size() == 50);

            // kill -9 the leader while rows keep coming: the standby takes over once the Lease has expired
            Thread writer = new Thread(() -> write(300), "ha-writer");
            writer.start();
            RouterProcess leader = first.equals("router-a") ? a : b;
            String second = first.equals("router-a") ? "router-b" : "router-a";
            long killed = System.nanoTime();
            leader.kill();
            await().atMost(Duration.ofSeconds(60)).until(() -> second.equals(holder()) && streaming() == 1);
            System.out.printf("[leader-election] kill -9 of the leader -> successor streaming: %d ms (lease duration 6 s)%n",
                    (System.nanoTime() - killed) / 1_000_000);
            writer.join();
            await().atMost(Duration.ofSeconds(60)).until(() -> inLake().size() == nextId.get());

            // the killed one comes back as a standby; the leader stopped with SIGTERM releases the Lease at once
            RouterProcess back = router(first, standbyPort == portA ? portB : portA);
            int backPort = standbyPort == portA ? portB : portA;
            if (first.equals("router-a")) a = back; else b = back;
            await().atMost(Duration.ofSeconds(90)).until(() -> WalSourceFaultsIT.readiness(backPort).statusCode() == 200
                    && WalSourceFaultsIT.readiness(backPort).body().contains("standby, leader is " + second));
            RouterProcess current = second.equals("router-a") ? a : b;
            Thread more = new Thread(() -> write(300), "ha-writer-2");
            more.start();
            long stopped = System.nanoTime();
            current.close();
            await().atMost(Duration.ofSeconds(30)).until(() -> first.equals(holder()) && streaming() == 1);
            System.out.printf("[leader-election] SIGTERM of the leader -> successor streaming: %d ms%n", (System.nanoTime() - stopped) / 1_000_000);
            more.join();
            await().atMost(Duration.ofSeconds(60)).until(() -> inLake().size() == nextId.get());
            assertThat(WalSourceFaultsIT.readiness(backPort).body()).contains("\"role\": \"active\"");
            // standing by, taking over and handing over are not errors: neither survivor logged one
            assertThat(back.output()).as(back.output()).doesNotContain(" ERROR ").doesNotContain("Exception");
            assertThat(current.output()).as(current.output()).doesNotContain(" ERROR ").doesNotContain("Exception");

            // the API server goes away: the leader cannot renew and stops streaming before its Lease (6 s after its last
            // renewal, at most 1 s before the cut) could expire for anyone else
            String host = api.getHostName();
            int apiPort = api.getPort();
            api.destroy();
            long cut = System.nanoTime();
            await().atMost(Duration.ofSeconds(30)).until(() -> streaming() == 0);
            long stoppedAfterMs = (System.nanoTime() - cut) / 1_000_000;
            System.out.printf("[leader-election] API server gone -> leader stopped streaming after %d ms (renew deadline 4 s, lease 6 s)%n", stoppedAfterMs);
            assertThat(stoppedAfterMs).isLessThan(5000);
            // it waits quietly: the outage is said when it starts (and again only if the failure changes), not at every attempt
            await().pollDelay(Duration.ofSeconds(4)).atMost(Duration.ofSeconds(5)).until(() -> true);
            assertThat(back.output().lines().filter(l -> l.contains("reading and renewing the Lease:"))).as(back.output()).hasSizeBetween(1, 2);
            assertThat(back.output()).doesNotContain(" ERROR ");
            // back: it leads again and streams
            api = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(), new KubernetesCrudDispatcher(), true);
            api.init(java.net.InetAddress.getByName(host), apiPort);
            await().atMost(Duration.ofSeconds(60)).ignoreExceptions().until(() -> first.equals(holder()) && streaming() == 1);
            int last = nextId.incrementAndGet();
            Sql.exec("INSERT INTO test.ha_orders VALUES (" + last + ", 'after the API server came back')");
            await().atMost(Duration.ofSeconds(30)).until(() -> inLake().contains(last));
        } finally {
            a.close();
            b.close();
        }
    }
}
