package io.pgrouter.sink.kafka;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.InvalidTopicException;
import org.apache.kafka.common.errors.RecordBatchTooLargeException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

import io.pgrouter.delivery.SinkDeliveryException;
import io.pgrouter.event.EventTemplate;
import io.pgrouter.sink.queue.QueueDelivery;
import io.pgrouter.sink.queue.QueueEvent;
import io.pgrouter.sink.queue.QueueSinkEndpoint;

/**
 * One Kafka cluster and topic template. Key = the subject (one subject, one partition, in order), value = the event
 * JSON, CloudEvents attributes as {@code ce_*} headers; acks=all with the idempotent producer. Records are sent as
 * events arrive and awaited together at the end of the source batch (or every {@code batchSize} events).
 */
public class KafkaSinkEndpoint extends QueueSinkEndpoint {

    static final String SINK = "kafka-sink";

    private String brokers;
    private String topic = "pg.${schema}.${table}";
    private EventTemplate topicTemplate;
    private int lingerMs = 5;
    private String compression = "none";
    private long deliveryTimeoutMs = 15_000;
    private String clientSettings = ProducerSettings.DEFAULT_PREFIX;
    private ProducerSettings settings;

    private Producer<String, byte[]> producer;
    /** Records sent for buffered events, awaited by the next attempt; an event without one (a retry) is sent again. */
    private final Map<QueueEvent, Future<RecordMetadata>> inFlight = new IdentityHashMap<>();
    private Round streamRound = new Round();
    private final Object producerLock = new Object();

    /** What one attempt learns as it goes, so a missing topic costs one wait and one cluster check, not one per record. */
    private static final class Round {
        /** Topics whose metadata did not come within max.block.ms: their other records fail at once. */
        final Map<String, Future<RecordMetadata>> noMetadata = new java.util.HashMap<>();
        /** Per topic: whether the cluster answered that it has no such topic. */
        final Map<String, Boolean> missing = new java.util.HashMap<>();
    }

    KafkaSinkEndpoint(String uri, KafkaSinkComponent component) {
        super(uri, component);
        setBatchSize(10_000);
    }

    @Override
    protected String sink() {
        return SINK;
    }

    @Override
    protected String where() {
        // other client settings (other credentials) are another destination: one can be refused while the other is up
        return "kafka " + brokers + " topic " + topic + (ProducerSettings.DEFAULT_PREFIX.equals(clientSettings) ? "" : " settings " + clientSettings);
    }

    @Override
    protected String identity() {
        // other client settings may be other credentials: their own key (the default prefix keeps the keys sinks had before it)
        return brokers + "|" + topic + (ProducerSettings.DEFAULT_PREFIX.equals(clientSettings) ? "" : "|" + clientSettings);
    }

    @Override
    protected void validate() {
        if (brokers == null || brokers.isBlank()) throw new IllegalArgumentException("kafka-sink needs brokers");
        if (topic == null || topic.isBlank()) throw new IllegalArgumentException("kafka-sink needs topic");
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

    /** The producer's settings: the sink's own, then the client settings passed through (TLS, SASL, tuning). */
    private Properties producerProperties() {
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

    private Producer<String, byte[]> producer() {
        synchronized (producerLock) {
        if (producer == null) {
            // bin/pgrouter routes test: Kafka's own MockProducer, capturing each record instead of sending it
            producer = io.pgrouter.delivery.DryRun.on() ? new CapturedRecords()
                    : new KafkaProducer<>(producerProperties(), new StringSerializer(), new ByteArraySerializer());
        }
        return producer;
        }
    }

    @Override
    protected void buffered(QueueEvent event) {
        inFlight.put(event, sendNow(event, streamRound));
    }

    private Future<RecordMetadata> sendNow(QueueEvent e, Round round) {
        try {
            String to = topicFor(e);
            Future<RecordMetadata> missing = round.noMetadata.get(to);
            if (missing != null) return missing;
            ProducerRecord<String, byte[]> record = new ProducerRecord<>(to, null, e.subject().isEmpty() ? null : e.subject(),
                    e.json().getBytes(StandardCharsets.UTF_8));
            for (Map.Entry<String, String> a : e.attributes().entrySet()) {
                record.headers().add(new RecordHeader("ce_" + a.getKey(), a.getValue().getBytes(StandardCharsets.UTF_8)));
            }
            Future<RecordMetadata> f = producer().send(record);
            if (f.isDone() && failedOnMetadata(f)) round.noMetadata.put(to, f);
            return f;
        } catch (RuntimeException failure) {
            return CompletableFuture.failedFuture(failure);
        }
    }

    private static boolean failedOnMetadata(Future<RecordMetadata> f) {
        try {
            f.get();
            return false;
        } catch (ExecutionException x) {
            return x.getCause() instanceof TimeoutException;
        } catch (InterruptedException x) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private String topicOrNull(QueueEvent e) {
        try {
            return topicFor(e);
        } catch (InvalidTopicException x) {
            return "";
        }
    }

    /** The topic for an event, from the template (see {@link EventTemplate}); a value the event lacks refuses the event for good. */
    String topicFor(QueueEvent e) {
        try {
            return topicTemplate.apply(e.attributes(), () -> data(e));
        } catch (EventTemplate.MissingValue missing) {
            throw new InvalidTopicException(missing.getMessage());
        }
    }

    private static com.fasterxml.jackson.databind.JsonNode data(QueueEvent e) {
        try {
            return io.pgrouter.event.CanonicalEvent.JSON.readTree(e.json()).get("data");
        } catch (com.fasterxml.jackson.core.JsonProcessingException notJson) {
            return null;
        }
    }

    @Override
    protected void send(QueueDelivery.Batch batch) throws SinkDeliveryException, InterruptedException {
        Round round = streamRound;
        streamRound = new Round();
        attempt(batch, inFlight, round);
    }

    @Override
    protected void sendRedelivery(QueueDelivery.Batch batch) throws SinkDeliveryException, InterruptedException {
        attempt(batch, Map.of(), new Round());
    }

    /** Awaits the records already sent for these events (sending those that have none), then sorts out the failures. */
    private void attempt(QueueDelivery.Batch batch, Map<QueueEvent, Future<RecordMetadata>> sent, Round round)
            throws SinkDeliveryException, InterruptedException {
        List<QueueEvent> events = batch.remaining();
        List<Future<RecordMetadata>> futures = new ArrayList<>(events.size());
        for (QueueEvent e : events) {
            Future<RecordMetadata> f = sent.isEmpty() ? null : sent.remove(e);
            futures.add(f != null ? f : sendNow(e, round));
        }
        List<QueueEvent> failed = new ArrayList<>();
        SinkDeliveryException firstFailure = null;
        for (int i = 0; i < events.size(); i++) {
            Throwable cause;
            try {
                futures.get(i).get(deliveryTimeoutMs + 5_000, TimeUnit.MILLISECONDS);
                continue;
            } catch (ExecutionException x) {
                cause = x.getCause();
            } catch (java.util.concurrent.TimeoutException x) {
                cause = x;
            }
            if (permanent(cause, topicOrNull(events.get(i)), round)) {
                batch.reject(events.get(i), failure(cause, false));
            } else {
                failed.add(events.get(i));
                if (firstFailure == null) firstFailure = failure(cause, true);
            }
        }
        batch.onlyLeft(failed);
        if (firstFailure != null) {
            if (fatal(firstFailure.getCause())) closeProducer();
            throw firstFailure;
        }
    }

    /** Refused for good: too large, a topic name Kafka rejects or that does not exist on a reachable cluster, no permission. */
    private boolean permanent(Throwable t, String topic, Round round) {
        if (t instanceof RecordTooLargeException || t instanceof RecordBatchTooLargeException || t instanceof InvalidTopicException
                || t instanceof AuthorizationException || t instanceof SerializationException) {
            return true;
        }
        boolean unknownTopic = t instanceof UnknownTopicOrPartitionException
                || (t instanceof TimeoutException && String.valueOf(t.getMessage()).contains("not present in metadata"));
        return unknownTopic && round.missing.computeIfAbsent(topic, this::clusterSaysNoSuchTopic);
    }

    /**
     * A topic missing from the producer's metadata means "no such topic" only when the cluster says so: while a broker
     * stops or starts, it answers but its partitions have no leader for a moment, and that is not a reason to give up.
     */
    private boolean clusterSaysNoSuchTopic(String topic) {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, brokers);
        p.putAll(settings.forAdmin());
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 5_000);
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 5_000);
        try (Admin admin = Admin.create(p)) {
            admin.describeTopics(List.of(topic)).allTopicNames().get(5, TimeUnit.SECONDS);
            return false;
        } catch (ExecutionException e) {
            return e.getCause() instanceof UnknownTopicOrPartitionException;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } catch (Exception e) {
            return false;
        }
    }

    /** Failures after which the producer cannot be used again (it is recreated on the next send). */
    private static boolean fatal(Throwable t) {
        return t instanceof AuthenticationException || t instanceof IllegalStateException
                || t instanceof org.apache.kafka.common.errors.ProducerFencedException
                || t instanceof org.apache.kafka.common.errors.OutOfOrderSequenceException;
    }

    private SinkDeliveryException failure(Throwable e, boolean retryable) {
        String message = where() + (retryable ? " failed: " : " refused the record: ") + e + settings.hint(e);
        return new SinkDeliveryException(SINK, message, null, e.getMessage(), 1, retryable, null, e);
    }

    @Override
    protected void disconnect() {
        inFlight.clear();
        closeProducer();
    }

    private void closeProducer() {
        Producer<String, byte[]> p;
        synchronized (producerLock) {
            p = producer;
            producer = null;
        }
        if (p != null) p.close(java.time.Duration.ofSeconds(5));
    }

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
