package io.pgrouter.packaged;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.clients.admin.NewTopic;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import com.fasterxml.jackson.databind.JsonNode;

import io.pgrouter.demo.WebhookReceiver;
import io.pgrouter.event.CanonicalEvent;
import io.pgrouter.testing.KafkaNode;
import io.pgrouter.testing.Ports;
import io.pgrouter.testing.RouterProcess;
import io.pgrouter.testing.Sql;
import io.pgrouter.testing.TestServers;

/**
 * The two tiers as packaged routers: one writes test.tier_kill to Kafka (pg:wal to the kafka sink, key = subject),
 * three read it in one consumer group (pg:kafka to a webhook whose receiver takes 50 ms per request). One of the
 * three is killed with -9 while rows keep changing: its partitions move to the other two, every change reaches the
 * receiver, and per subject no event arrives after a newer one unless it is a repeat of an event already delivered
 * (at-least-once: the same id again).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class KafkaTierIT {

    static final String TOPIC = "pg.test.tier_kill", GROUP = "tier2-it";
    static final int SUBJECTS = 24, PARTITIONS = 6;

    final TestServers servers = new TestServers();
    final List<RouterProcess> routers = new ArrayList<>();
    Map<String, String> config;
    KafkaNode kafka;
    Path kafkaDir;

    @BeforeAll
    void start() throws Exception {
        config = new HashMap<>(servers.start());
        kafkaDir = Files.createTempDirectory("tier-kafka");
        kafka = new KafkaNode(kafkaDir, Map.of());
        kafka.start();
        try (Admin admin = admin()) {
            admin.createTopics(List.of(new NewTopic(TOPIC, PARTITIONS, (short) 1))).all().get();
        }
        config.put("pgrouter.kafka.bootstrap-servers", kafka.bootstrapServers());
        // a router killed with -9 is noticed by the group after 6 s (Kafka's default is 45 s)
        config.put("pgrouter.kafka.consumer.session.timeout.ms", "6000");
        config.put("pgrouter.kafka.consumer.heartbeat.interval.ms", "1000");
        Sql.exec("CREATE TABLE test.tier_kill (id int PRIMARY KEY, version int NOT NULL)",
                "INSERT INTO test.tier_kill SELECT g, 1 FROM generate_series(1, " + SUBJECTS + ") g");
        TestServers.webhook.delay("/tier2", 50);
    }

    @AfterAll
    void stop() throws Exception {
        for (RouterProcess r : routers) r.close();
        if (kafka != null) kafka.stop();
        servers.stop();
    }

    Admin admin() {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        return Admin.create(p);
    }

    RouterProcess router(String route) throws Exception {
        Path dir = Files.createTempDirectory("tier-routes");
        Files.writeString(dir.resolve("route.yaml"), route);
        Map<String, String> c = new HashMap<>(config);
        c.put("pgrouter.routes.dir", dir.toString());
        c.put("quarkus.http.port", String.valueOf(Ports.free()));
        RouterProcess r = RouterProcess.start(c);
        routers.add(r);
        return r;
    }

    RouterProcess firstTier() throws Exception {
        config.put("pgrouter.wal.slot", "tier1");
        config.put("pgrouter.wal.publication", "tier1");
        return router("""
                - route:
                    id: wal-tier-kill-to-kafka
                    from:
                      uri: pg:wal
                      parameters:
                        tables: test.tier_kill
                      steps:
                        - to: "kamelet:kafka-sink?brokers={{pgrouter.kafka.bootstrap-servers}}&topic=pg.${schema}.${table}"
                """);
    }

    RouterProcess secondTier() throws Exception {
        return router("""
                - route:
                    id: kafka-tier-kill-to-webhook
                    from:
                      uri: pg:kafka
                      parameters:
                        topics: %s
                        group: %s
                      steps:
                        - to: "kamelet:webhook-sink?url={{pgrouter.test.receiver}}/tier2"
                """.formatted(TOPIC, GROUP));
    }

    /** The group's members and how many partitions each reads. */
    List<Integer> members() throws Exception {
        try (Admin admin = admin()) {
            ConsumerGroupDescription group = admin.describeConsumerGroups(List.of(GROUP)).all().get().get(GROUP);
            return group.members().stream().map(MemberDescription::assignment).map(a -> a.topicPartitions().size()).toList();
        }
    }

    @Test
    void aSecondTierRouterKilledUnderLoadLosesNothingAndEachSubjectKeepsItsOrder() throws Exception {
        firstTier();
        RouterProcess a = secondTier(), b = secondTier(), c = secondTier();
        // the group exists once its first member joined
        await().atMost(Duration.ofSeconds(90)).ignoreExceptions().until(() -> members().size() == 3 && members().stream().mapToInt(Integer::intValue).sum() == PARTITIONS
                && Sql.count("SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'tier1' AND active") == 1);

        int[] last = new int[SUBJECTS + 1];
        java.util.Arrays.fill(last, 1);
        AtomicInteger writes = new AtomicInteger();
        ScheduledExecutorService writer = Executors.newSingleThreadScheduledExecutor();
        // ~60 changes a second, each its own transaction, over every subject in turn
        writer.scheduleAtFixedRate(() -> {
            int id = writes.getAndIncrement() % SUBJECTS + 1;
            Sql.exec("UPDATE test.tier_kill SET version = version + 1 WHERE id = " + id);
            synchronized (last) {
                last[id]++;
            }
        }, 0, 16, TimeUnit.MILLISECONDS);
        try {
            await().atMost(Duration.ofSeconds(60)).until(() -> TestServers.webhook.deliveries("/tier2").size() > 150);
            b.kill();
            // the group notices after the session timeout: the other two share all partitions
            await().atMost(Duration.ofSeconds(60)).until(() -> members().size() == 2 && members().stream().mapToInt(Integer::intValue).sum() == PARTITIONS);
            int afterMove = TestServers.webhook.deliveries("/tier2").size();
            await().atMost(Duration.ofSeconds(60)).until(() -> TestServers.webhook.deliveries("/tier2").size() > afterMove + 150);
        } finally {
            writer.shutdown();
            writer.awaitTermination(10, TimeUnit.SECONDS);
        }

        // every change arrives: per subject, every version from 2 up to the last one written
        await().atMost(Duration.ofSeconds(90)).until(() -> missing(last).isEmpty());
        assertThat(a.isAlive()).isTrue();
        assertThat(c.isAlive()).isTrue();

        // per subject, in arrival order: an event either repeats one delivered before (same id, same version) or is not older than any before it
        Map<Integer, Integer> newest = new TreeMap<>();
        Map<String, Integer> versionOfId = new HashMap<>();
        Map<Integer, Map<Integer, String>> idOfVersion = new HashMap<>();
        int repeats = 0;
        for (WebhookReceiver.Delivery d : TestServers.webhook.deliveries("/tier2")) {
            JsonNode e = CanonicalEvent.JSON.readTree(d.body());
            int subject = e.get("subject").asInt(), version = e.path("data").path("after").path("version").asInt();
            String id = e.get("id").asText();
            String sameVersion = idOfVersion.computeIfAbsent(subject, k -> new HashMap<>()).putIfAbsent(version, id);
            assertThat(sameVersion).as("subject %d version %d came with two ids", subject, version).isIn(null, id);
            if (versionOfId.put(id, version) != null) {
                repeats++;
                continue;
            }
            assertThat(version).as("subject %d: version %d arrived after version %d", subject, version, newest.getOrDefault(subject, 0))
                    .isGreaterThanOrEqualTo(newest.getOrDefault(subject, 0));
            newest.put(subject, version);
        }
        System.out.printf("KafkaTierIT: %d changes written, %d deliveries, %d repeats after the kill%n", writes.get(),
                TestServers.webhook.deliveries("/tier2").size(), repeats);
    }

    /** (subject, version) pairs written but not received yet. */
    static List<String> missing(int[] last) {
        Map<Integer, Set<Integer>> got = new HashMap<>();
        for (WebhookReceiver.Delivery d : TestServers.webhook.deliveries("/tier2")) {
            try {
                JsonNode e = CanonicalEvent.JSON.readTree(d.body());
                got.computeIfAbsent(e.get("subject").asInt(), k -> new java.util.HashSet<>()).add(e.path("data").path("after").path("version").asInt());
            } catch (java.io.IOException x) {
                throw new IllegalStateException(x);
            }
        }
        List<String> missing = new ArrayList<>();
        synchronized (last) {
            for (int s = 1; s <= SUBJECTS; s++) {
                for (int v = 2; v <= last[s]; v++) {
                    if (!got.getOrDefault(s, Set.of()).contains(v)) missing.add(s + "@" + v);
                }
            }
        }
        return missing;
    }
}
