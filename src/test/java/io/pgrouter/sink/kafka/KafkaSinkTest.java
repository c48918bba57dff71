package io.pgrouter.sink.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.function.Predicate;

import jakarta.inject.Inject;
import jakarta.inject.Named;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;

import io.pgrouter.event.CanonicalEvent;
import io.pgrouter.testing.BrokerOutage;
import io.pgrouter.testing.MessageBrokers;
import io.pgrouter.testing.MessageQueuesProfile;
import io.pgrouter.testing.Sql;
import io.pgrouter.testing.TestServers;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;

/** The Kafka sink against a one-node KRaft cluster in this JVM, checked with a plain Kafka consumer. */
@QuarkusTest
@TestProfile(MessageQueuesProfile.class)
@QuarkusTestResource(value = TestServers.class, restrictToAnnotatedClass = false)
class KafkaSinkTest {

    private static final String TOPIC = "pg.test.mq_items";

    @Inject
    @Named("pgkafka")
    io.pgrouter.delivery.SinkComponent<KafkaConfig> kafkaSinks;

    /** Reads the topic from the start until {@code count} records with a key in {@code keys} arrived (or 60 s passed). */
    static List<ConsumerRecord<String, String>> consume(Set<String> keys, int count) {
        List<ConsumerRecord<String, String>> got = new ArrayList<>();
        consume(TOPIC, Duration.ofSeconds(60), r -> {
            if (keys.contains(r.key())) got.add(r);
            return got.size() >= count;
        });
        return got;
    }

    /** Reads every partition of {@code topic} from the start (no consumer group) until {@code done} says so or the time is up. */
    static void consume(String topic, Duration atMost, Predicate<ConsumerRecord<String, String>> done) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, MessageBrokers.kafkaBrokers);
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(p, new StringDeserializer(), new StringDeserializer())) {
            long deadline = System.nanoTime() + atMost.toNanos();
            List<TopicPartition> partitions = List.of();
            while (partitions.isEmpty() && System.nanoTime() < deadline) {
                partitions = consumer.partitionsFor(topic).stream().map(i -> new TopicPartition(i.topic(), i.partition())).toList();
            }
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            while (System.nanoTime() < deadline) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
                    if (done.test(r)) return;
                }
            }
        }
    }

    static String header(ConsumerRecord<String, String> r, String name) {
        Header h = r.headers().lastHeader(name);
        return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }

    static JsonNode event(ConsumerRecord<String, String> r) {
        try {
            return CanonicalEvent.JSON.readTree(r.value());
        } catch (Exception e) {
            throw new IllegalStateException(r.value(), e);
        }
    }

    @Test
    void keyIsTheSubjectHeadersCarryTheAttributesAndEachKeyKeepsItsOrder() {
        Set<String> keys = new HashSet<>();
        for (int id = 1; id <= 10; id++) {
            keys.add(String.valueOf(id));
            Sql.exec("INSERT INTO test.mq_items (id, note) VALUES (" + id + ", 'item " + id + "')");
        }
        for (int round = 0; round < 3; round++) {
            for (int id = 1; id <= 10; id++) Sql.exec("UPDATE test.mq_items SET version = version + 1 WHERE id = " + id);
        }
        List<ConsumerRecord<String, String>> got = consume(keys, 40);
        assertThat(got).hasSize(40);

        Map<String, List<ConsumerRecord<String, String>>> byKey = new LinkedHashMap<>();
        for (ConsumerRecord<String, String> r : got) byKey.computeIfAbsent(r.key(), k -> new ArrayList<>()).add(r);
        assertThat(byKey.keySet()).isEqualTo(keys);
        byKey.forEach((key, records) -> {
            assertThat(records).extracting(r -> event(r).path("data").path("after").path("version").asInt()).as("key " + key)
                    .containsExactly(1, 2, 3, 4);
            assertThat(records).extracting(ConsumerRecord::partition).containsOnly(records.get(0).partition());
        });
        ConsumerRecord<String, String> first = byKey.get("3").get(0);
        JsonNode event = event(first);
        assertThat(event.path("subject").asText()).isEqualTo("3");
        assertThat(event.path("data").path("after").path("note").asText()).isEqualTo("item 3");
        assertThat(header(first, "ce_id")).isEqualTo(event.path("id").asText());
        assertThat(header(first, "ce_type")).isEqualTo("postgres.row.insert");
        assertThat(header(first, "ce_source")).isEqualTo(event.path("source").asText());
        assertThat(header(first, "ce_subject")).isEqualTo("3");
        assertThat(header(first, "ce_time")).isEqualTo(event.path("time").asText());
        assertThat(header(first, "ce_pgtable")).isEqualTo("mq_items");
        assertThat(header(first, "ce_data")).isNull();
    }

    @Test
    void aRecordTooLargeForKafkaGoesToDeadLettersAndTheStreamMovesOn() {
        // Kafka's default max.request.size is 1 MiB: this row's event is about 1.5 MB
        Sql.exec("INSERT INTO test.mq_items (id, note) VALUES (900, repeat('x', 1500000))");
        Sql.exec("INSERT INTO test.mq_items (id, note) VALUES (901, 'small')");
        List<ConsumerRecord<String, String>> got = consume(Set.of("900", "901"), 1);
        assertThat(got).extracting(ConsumerRecord::key).containsExactly("901");
        assertThat(Sql.count("SELECT count(*) FROM pgrouter.dead_letters WHERE route_id = 'wal-mq-items-to-kafka' AND sink = 'kafka-sink' "
                + "AND event->>'subject' = '900' AND error LIKE '%RecordTooLargeException%'")).isEqualTo(1);
        assertThat(Sql.count("SELECT count(*) FROM pgrouter.retries WHERE route_id = 'wal-mq-items-to-kafka'")).isZero();
    }

    @Test
    void theTopicComesFromAColumnAndARowWithoutOneIsDeadLetteredNamingTheTemplate() {
        Sql.exec("INSERT INTO test.mq_regions VALUES (1, 'eu'), (2, NULL), (3, 'us')");
        List<String> eu = new ArrayList<>();
        consume("test.regions.eu", Duration.ofSeconds(60), r -> eu.add(r.key()));
        List<String> us = new ArrayList<>();
        consume("test.regions.us", Duration.ofSeconds(60), r -> us.add(r.key()));
        assertThat(eu).containsExactly("1");
        assertThat(us).containsExactly("3");
        await().atMost(Duration.ofSeconds(30)).until(() -> Sql.count("SELECT count(*) FROM pgrouter.dead_letters WHERE route_id = 'wal-mq-regions-to-kafka'") == 1);
        assertThat(Sql.text("SELECT sink || ' ' || (event->>'subject') || ' ' || error FROM pgrouter.dead_letters WHERE route_id = 'wal-mq-regions-to-kafka'"))
                .startsWith("kafka-sink 2 ").contains("template 'test.regions.${after.region}' has no value for ${after.region}");
    }

    /**
     * The fault test: the Kafka node stops for 30 s while rows change at 25 tx/s, then comes back on the same
     * port and log directory. Every change arrives, first deliveries in order per key; a repeat has the same ce_id.
     */
    @Test
    void brokerStoppedForThirtySecondsUnderLoadLosesNothing() throws Exception {
        String route = "wal-mq-outage-to-kafka";
        Map<Integer, Integer> finalVersions = BrokerOutage.run("test.mq_kafka_outage", route, MessageBrokers::stopKafka, MessageBrokers::startKafka);

        List<BrokerOutage.Delivered> got = new ArrayList<>();
        Map<Integer, Long> lastOffset = new HashMap<>();
        Set<String> distinct = new HashSet<>();
        consume("pg.test.mq_kafka_outage", Duration.ofSeconds(90), r -> {
            // one key, one partition: the partition's offsets are the order a consumer sees
            assertThat(r.offset()).isGreaterThan(lastOffset.getOrDefault(r.partition(), -1L));
            lastOffset.put(r.partition(), r.offset());
            BrokerOutage.Delivered d = new BrokerOutage.Delivered(r.key(), event(r).path("data").path("after").path("version").asInt(), header(r, "ce_id"));
            got.add(d);
            distinct.add(d.change());
            return distinct.size() >= BrokerOutage.CHANGES;
        });
        BrokerOutage.assertNothingLost(got, finalVersions, route);
        // both Kafka routes have one sink key (same cluster, same topic template): the retry worker's successful probe
        // through one endpoint must let the other send directly again too, not leave it parking every event
        await().atMost(Duration.ofSeconds(10)).until(() -> kafkaSinks.endpoints().stream().noneMatch(io.pgrouter.delivery.SinkEndpoint::destinationDown));
    }
}
