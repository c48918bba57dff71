package io.pgrouter.sink.kafka;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.Future;

import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

import io.pgrouter.delivery.DryRun;

/** The Kafka sink's producer in a dry run: each record the sink makes (topic, key, headers, value) goes to the capture, acknowledged at once. */
final class CapturedRecords extends MockProducer<String, byte[]> {

    CapturedRecords() {
        // one partition: how many a topic has is the cluster's business, and nothing here asks a cluster
        super(true, new OnePartition(), new StringSerializer(), new ByteArraySerializer());
    }

    @Override
    public synchronized Future<RecordMetadata> send(ProducerRecord<String, byte[]> record, Callback callback) {
        StringBuilder text = new StringBuilder();
        text.append("topic: ").append(record.topic()).append('\n');
        text.append("key: ").append(record.key()).append('\n');
        for (Header h : record.headers()) {
            text.append("header ").append(h.key()).append(": ").append(new String(h.value(), StandardCharsets.UTF_8)).append('\n');
        }
        text.append('\n').append(new String(record.value(), StandardCharsets.UTF_8)).append('\n');
        DryRun.sent(KafkaConfig.SINK, text.toString());
        return super.send(record, callback);
    }

    private static final class OnePartition implements org.apache.kafka.clients.producer.Partitioner {
        @Override
        public int partition(String topic, Object key, byte[] keyBytes, Object value, byte[] valueBytes, org.apache.kafka.common.Cluster cluster) {
            return 0;
        }

        @Override
        public void close() {
        }

        @Override
        public void configure(java.util.Map<String, ?> configs) {
        }
    }
}
