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

import io.pgrouter.delivery.SinkContext;
import io.pgrouter.delivery.SinkDeliveryException;
import io.pgrouter.event.EventTemplate;
import io.pgrouter.sink.queue.QueueDelivery;
import io.pgrouter.sink.queue.QueueEvent;
import io.pgrouter.sink.queue.QueueSink;

/**
 * One Kafka cluster and topic template. Key = the subject (one subject, one partition, in order), value = the event
 * JSON, CloudEvents attributes as {@code ce_*} headers; acks=all with the idempotent producer. Records are sent as
 * events arrive and awaited together at the end of the source batch (or every {@code batchSize} events).
 */
public class KafkaSink extends QueueSink {

    private final KafkaConfig config;

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

    public KafkaSink(KafkaConfig config, SinkContext context) {
        super(config, context);
        this.config = config;
    }

    private Producer<String, byte[]> producer() {
        synchronized (producerLock) {
        if (producer == null) {
            // bin/pgrouter routes test: Kafka's own MockProducer, capturing each record instead of sending it
            producer = io.pgrouter.delivery.DryRun.on() ? new CapturedRecords()
                    : new KafkaProducer<>(config.producerProperties(), new StringSerializer(), new ByteArraySerializer());
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
            return config.topicTemplate().apply(e.attributes(), () -> data(e));
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
                futures.get(i).get(config.getDeliveryTimeoutMs() + 5_000, TimeUnit.MILLISECONDS);
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
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, config.getBrokers());
        p.putAll(config.settings().forAdmin());
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
        String message = config.where() + (retryable ? " failed: " : " refused the record: ") + e + config.settings().hint(e);
        return new SinkDeliveryException(KafkaConfig.SINK, message, null, e.getMessage(), 1, retryable, null, e);
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
}
