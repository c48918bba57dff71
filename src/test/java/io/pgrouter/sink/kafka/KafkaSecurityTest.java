package io.pgrouter.sink.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;

import io.pgrouter.testing.KafkaSecurityProfile;
import io.pgrouter.testing.SecureKafka;
import io.pgrouter.testing.Sql;
import io.pgrouter.testing.TestServers;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;

/**
 * The Kafka sink over TLS and SASL/SCRAM by configuration alone: the producer settings under each route's
 * clientSettings prefix reach the Kafka client as they are. Records are read back through the broker's PLAINTEXT
 * listener.
 */
@QuarkusTest
@TestProfile(KafkaSecurityProfile.class)
@QuarkusTestResource(value = TestServers.class, restrictToAnnotatedClass = false)
class KafkaSecurityTest {

    /** The records of {@code topic} read from the start for up to {@code atMost} (stops early once {@code enough} arrived). */
    private static List<ConsumerRecord<String, String>> records(String topic, int enough, Duration atMost) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, SecureKafka.plaintext);
        p.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false);
        List<ConsumerRecord<String, String>> got = new ArrayList<>();
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(p, new StringDeserializer(), new StringDeserializer())) {
            long deadline = System.nanoTime() + atMost.toNanos();
            List<TopicPartition> partitions = List.of();
            while (partitions.isEmpty() && System.nanoTime() < deadline) {
                partitions = consumer.listTopics().containsKey(topic)
                        ? consumer.partitionsFor(topic).stream().map(i -> new TopicPartition(i.topic(), i.partition())).toList()
                        : List.of();
            }
            if (partitions.isEmpty()) return got;
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            while (got.size() < enough && System.nanoTime() < deadline) {
                consumer.poll(Duration.ofMillis(300)).forEach(got::add);
            }
        }
        return got;
    }

    @Test
    void tlsByProducerSettingsAlone() {
        Sql.exec("INSERT INTO test.kafka_tls (id, note) VALUES (1, 'over tls')");
        List<ConsumerRecord<String, String>> got = records("pg.test.kafka_tls", 1, Duration.ofSeconds(60));
        assertThat(got).extracting(ConsumerRecord::key).containsExactly("1");
        assertThat(got.get(0).value()).contains("\"note\":\"over tls\"");
    }

    @Test
    void scramWithTheRightPasswordIsDelivered() {
        Sql.exec("INSERT INTO test.kafka_scram (id, note) VALUES (7, 'over scram')");
        List<ConsumerRecord<String, String>> got = records("pg.test.kafka_scram", 1, Duration.ofSeconds(60));
        assertThat(got).extracting(ConsumerRecord::key).containsExactly("7");
        assertThat(got.get(0).value()).contains("\"note\":\"over scram\"");
    }

    @Test
    void aWrongPasswordIsRefusedAndTheEventWaitsNamingTheSetting() {
        Sql.exec("INSERT INTO test.kafka_wrong (id, note) VALUES (3, 'wrong password')");
        await().atMost(Duration.ofSeconds(60)).ignoreExceptions().until(() -> Sql.count(
                "SELECT count(*) FROM pgrouter.retries WHERE route_id = 'wal-kafka-wrong-to-kafka' AND subject = '3'") == 1);
        String error = Sql.text("SELECT last_error FROM pgrouter.retries WHERE route_id = 'wal-kafka-wrong-to-kafka' AND subject = '3'");
        assertThat(error).contains("SaslAuthenticationException").contains("pgrouter.test.kafka-wrong.sasl.jaas.config");
        assertThat(records("pg.test.kafka_wrong", 1, Duration.ofSeconds(3))).isEmpty();
    }
}
