package io.pgrouter.source.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.Properties;
import java.util.function.Function;
import java.util.stream.Collectors;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.pgrouter.demo.WebhookReceiver;
import io.pgrouter.event.CanonicalEvent;
import io.pgrouter.testing.KafkaTierBroker;
import io.pgrouter.testing.KafkaTierProfile;
import io.pgrouter.testing.Sql;
import io.pgrouter.testing.TestServers;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;

/**
 * Both tiers in one router: the first writes test.tier_orders to Kafka with the kafka sink, the second reads it back
 * with {@code pg:kafka} and the same table and operation filter as a {@code pg:wal} route beside it. The receiver gets
 * the same events from both (src/test/routes/tier2).
 */
@QuarkusTest
@TestProfile(KafkaTierProfile.class)
@QuarkusTestResource(value = TestServers.class, restrictToAnnotatedClass = false)
class KafkaSourceTest {

    static Map<String, JsonNode> byId(String path) {
        return byId(path, 1, Integer.MAX_VALUE);
    }

    /** The events received on {@code path} whose subject (the row id) is in [from, to], by id. */
    static Map<String, JsonNode> byId(String path, int from, int to) {
        return TestServers.webhook.deliveries(path).stream().map(WebhookReceiver.Delivery::body).map(KafkaSourceTest::json)
                .filter(n -> n.get("subject").asInt() >= from && n.get("subject").asInt() <= to)
                .collect(Collectors.toMap(n -> n.get("id").asText(), Function.identity(), (a, b) -> a));
    }

    static JsonNode json(String text) {
        try {
            return CanonicalEvent.JSON.readTree(text);
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void theSecondTierDeliversTheEventsTheWalRouteDeliversWithTheSameFilter() {
        Sql.exec("INSERT INTO test.tier_orders SELECT g, 1, 'new' FROM generate_series(1, 20) g");
        Sql.exec("UPDATE test.tier_orders SET version = 2, note = 'paid' WHERE id <= 10");
        await().atMost(Duration.ofSeconds(60)).until(() -> byId("/tier-wal", 1, 20).size() == 10 && byId("/tier-kafka", 1, 20).size() == 10);
        Map<String, JsonNode> wal = byId("/tier-wal", 1, 20);
        // the same ids, each the same CloudEvent (type, subject, time, pg* extensions, data), and no insert (ops=update)
        assertThat(byId("/tier-kafka", 1, 20)).isEqualTo(wal);
        assertThat(wal.values()).allSatisfy(e -> assertThat(e.get("type").asText()).isEqualTo("postgres.row.update"));
        assertThat(wal.values().stream().map(e -> e.get("subject").asText())).containsExactlyInAnyOrder("1", "2", "3", "4", "5", "6", "7", "8", "9", "10");
    }

    @Test
    void aBinaryModeRecordIsTheSameEventAndARecordThatIsNoEventIsADeadLetterWhileTheNextOnesArrive() throws Exception {
        Sql.exec("INSERT INTO test.tier_orders VALUES (101, 1, 'new')", "UPDATE test.tier_orders SET version = 2 WHERE id = 101");
        await().atMost(Duration.ofSeconds(60)).until(() -> byId("/tier-kafka").values().stream().anyMatch(e -> e.get("subject").asText().equals("101")));
        JsonNode structured = byId("/tier-kafka").values().stream().filter(e -> e.get("subject").asText().equals("101")).findFirst().orElseThrow();

        // the same event in the binary binding: attributes as ce_* headers, the value is data alone
        ObjectNode expected = structured.deepCopy();
        expected.put("id", "binary-" + structured.get("id").asText());
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, KafkaTierBroker.bootstrapServers);
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer())) {
            ProducerRecord<String, byte[]> binary = new ProducerRecord<>("pg.test.tier_orders", "101",
                    expected.get("data").toString().getBytes(StandardCharsets.UTF_8));
            expected.fields().forEachRemaining(a -> {
                if (!a.getKey().equals("data")) binary.headers().add("ce_" + a.getKey(), a.getValue().asText().getBytes(StandardCharsets.UTF_8));
            });
            producer.send(new ProducerRecord<>("pg.test.tier_orders", "101", "not an event".getBytes(StandardCharsets.UTF_8))).get();
            producer.send(binary).get();
        }
        Sql.exec("UPDATE test.tier_orders SET version = 3 WHERE id = 101");

        await().atMost(Duration.ofSeconds(60)).until(() -> byId("/tier-kafka").containsKey(expected.get("id").asText())
                && byId("/tier-kafka").values().stream().anyMatch(e -> e.path("data").path("after").path("version").asInt() == 3));
        assertThat(byId("/tier-kafka").get(expected.get("id").asText())).isEqualTo(expected);
        assertThat(Sql.count("SELECT count(*) FROM pgrouter.dead_letters WHERE event_id LIKE 'unroutable:kafka/pg.test.tier_orders/%'"
                + " AND error LIKE '%not a CloudEvent%'")).isEqualTo(1);
    }

    /**
     * While rows keep changing, another member joins the router's group (a plain Kafka consumer that reads nothing
     * for real): the router gives up some partitions, then gets them back when that member leaves without committing.
     * Every update arrives, and per subject the first arrivals keep the version order.
     */
    @Test
    void partitionsTakenAwayAndGivenBackLoseNothingAndKeepEachSubjectsOrder() throws Exception {
        Sql.exec("INSERT INTO test.tier_orders SELECT g, 1, 'new' FROM generate_series(201, 224) g");
        java.util.concurrent.atomic.AtomicInteger taken = new java.util.concurrent.atomic.AtomicInteger();
        Thread member = new Thread(() -> {
            Properties p = new Properties();
            p.put(org.apache.kafka.clients.consumer.ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, KafkaTierBroker.bootstrapServers);
            p.put(org.apache.kafka.clients.consumer.ConsumerConfig.GROUP_ID_CONFIG, "tier-test");
            p.put(org.apache.kafka.clients.consumer.ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
            p.put(org.apache.kafka.clients.consumer.ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG,
                    org.apache.kafka.clients.consumer.CooperativeStickyAssignor.class.getName());
            try (var other = new org.apache.kafka.clients.consumer.KafkaConsumer<String, String>(p, new org.apache.kafka.common.serialization.StringDeserializer(),
                    new org.apache.kafka.common.serialization.StringDeserializer())) {
                other.subscribe(java.util.List.of("pg.test.tier_orders"));
                long until = System.nanoTime() + Duration.ofSeconds(8).toNanos();
                while (System.nanoTime() < until) {
                    other.poll(Duration.ofMillis(100));
                    taken.accumulateAndGet(other.assignment().size(), Math::max);
                }
            }
        });
        int versions = 12;
        member.start();
        for (int v = 2; v <= versions; v++) {
            for (int id = 201; id <= 224; id++) Sql.exec("UPDATE test.tier_orders SET version = " + v + " WHERE id = " + id);
            Thread.sleep(400);
        }
        member.join();
        assertThat(taken.get()).as("partitions the other member took from the router").isPositive();

        await().atMost(Duration.ofSeconds(90)).until(() -> byId("/tier-kafka", 201, 224).size() == 24 * (versions - 1));
        Map<Integer, Integer> newest = new java.util.HashMap<>();
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (WebhookReceiver.Delivery d : TestServers.webhook.deliveries("/tier-kafka")) {
            JsonNode e = json(d.body());
            int subject = e.get("subject").asInt(), version = e.path("data").path("after").path("version").asInt();
            if (subject < 201 || subject > 224 || !seen.add(e.get("id").asText())) continue;
            assertThat(version).as("subject %d", subject).isGreaterThan(newest.getOrDefault(subject, 1));
            newest.put(subject, version);
        }
    }

    @Test
    void aRouteWithoutTopicsIsRefusedNamingTheOption() {
        org.apache.camel.CamelContext camel = io.quarkus.arc.Arc.container().instance(org.apache.camel.CamelContext.class).get();
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> ((io.pgrouter.source.PgEndpoint) camel.getEndpoint("pg:kafka?group=x"))
                .createConsumer(e -> { })).hasMessageContaining("pg:kafka needs topics=");
    }
}
