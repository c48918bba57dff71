package io.pgrouter.sink.kafka;

import java.util.List;
import java.util.Properties;

import org.apache.kafka.clients.producer.ProducerConfig;

import io.pgrouter.event.EventTemplate;
import io.pgrouter.sink.queue.QueueConfig;

/**
 * The Kafka sink's options ({@code kamelets/kafka-sink.kamelet.yaml}): the {@code brokers}, the {@code topic}
 * template ({@code pg.${schema}.${table}} by default), the producer's {@code lingerMs}, {@code compression} and
 * {@code deliveryTimeoutMs}, and {@code clientSettings}: the configuration prefix whose keys are passed to the producer
 * as they are (TLS, SASL, tuning).
 */
public class KafkaConfig extends QueueConfig {

    /** The sink's name in dead letters, retry keys and metrics. */
    static final String SINK = "kafka-sink";

    private String brokers;
    private String topic = "pg.${schema}.${table}";
    private int lingerMs = 5;
    private String compression = "none";
    private long deliveryTimeoutMs = 15_000;
    private String clientSettings = ProducerSettings.DEFAULT_PREFIX;

    private EventTemplate topicTemplate;
    private ProducerSettings settings;

    public KafkaConfig() {
        // the producer retries within deliveryTimeoutMs itself: an in-line retry would hold the stream for as long again
        setRetries(0);
    }

    @Override
    public String sink() {
        return SINK;
    }

    @Override
    protected void validateBroker() {
        if (blank(brokers)) throw new IllegalArgumentException("kafka-sink needs brokers");
        if (blank(topic)) throw new IllegalArgumentException("kafka-sink needs topic");
        try {
            topicTemplate = EventTemplate.parse(topic);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("kafka-sink topic: " + e.getMessage() + " in the route's kafka-sink parameters", e);
        }
        if (!List.of("none", "gzip", "snappy", "lz4", "zstd").contains(compression)) {
            throw new IllegalArgumentException("kafka-sink compression must be none, gzip, snappy, lz4 or zstd, got " + compression);
        }
        if (deliveryTimeoutMs < lingerMs + 1000L) throw new IllegalArgumentException("kafka-sink deliveryTimeoutMs must be at least lingerMs + 1000");
        settings = ProducerSettings.under(clientSettings);
        settings.check(producerProperties());
    }

    @Override
    public String where() {
        // other client settings (other credentials) are another destination: one can be refused while the other is up
        return "kafka " + brokers + " topic " + topic + (ProducerSettings.DEFAULT_PREFIX.equals(clientSettings) ? "" : " settings " + clientSettings);
    }

    @Override
    protected String identity() {
        // other client settings may be other credentials: their own key (the default prefix keeps the keys sinks had before it)
        return brokers + "|" + topic + (ProducerSettings.DEFAULT_PREFIX.equals(clientSettings) ? "" : "|" + clientSettings);
    }

    /** The producer's settings: the sink's own, then the client settings passed through (TLS, SASL, tuning). */
    Properties producerProperties() {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, brokers);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        p.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, 5);
        p.put(ProducerConfig.LINGER_MS_CONFIG, lingerMs);
        p.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, compression);
        // a source batch sends up to thousands of records at once: 64 KiB batches (default 16 KiB) mean fewer produce requests
        p.put(ProducerConfig.BATCH_SIZE_CONFIG, 65_536);
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, (int) deliveryTimeoutMs);
        p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) Math.min(30_000, deliveryTimeoutMs - lingerMs));
        // how long send() may block for a topic's metadata or buffer space: the routing thread waits, so keep it short
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, Math.min(deliveryTimeoutMs, 5_000));
        p.put(ProducerConfig.CLIENT_ID_CONFIG, "pgrouter-" + sinkKey());
        p.putAll(settings.values());
        return p;
    }

    EventTemplate topicTemplate() { return topicTemplate; }
    ProducerSettings settings() { return settings; }

    public String getBrokers() { return brokers; }
    public void setBrokers(String brokers) { this.brokers = brokers; }
    public String getTopic() { return topic; }
    public void setTopic(String topic) { this.topic = topic; }
    public int getLingerMs() { return lingerMs; }
    public void setLingerMs(int lingerMs) { this.lingerMs = lingerMs; }
    public String getCompression() { return compression; }
    public void setCompression(String compression) { this.compression = compression; }
    public String getClientSettings() { return clientSettings; }
    public void setClientSettings(String clientSettings) { this.clientSettings = clientSettings; }
    public long getDeliveryTimeoutMs() { return deliveryTimeoutMs; }
    public void setDeliveryTimeoutMs(long deliveryTimeoutMs) { this.deliveryTimeoutMs = deliveryTimeoutMs; }
}
