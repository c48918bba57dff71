package io.pgrouter.source.kafka;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CopyOnWriteArrayList;

import jakarta.inject.Singleton;

import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.jboss.logging.Logger;

import io.pgrouter.config.KafkaSourceConfig;
import io.pgrouter.delivery.DeadLetterStore;
import io.pgrouter.delivery.RetryStore;
import io.pgrouter.event.CanonicalEvent;
import io.pgrouter.source.EventDispatcher;
import io.pgrouter.source.EventSource;
import io.pgrouter.source.PgConsumer;
import io.pgrouter.source.SourceState;

/**
 * The second tier's source: {@code pg:kafka?topics=pg.public.orders&group=shipping} reads the CloudEvents a first-tier
 * router wrote to Kafka with the kafka sink, and hands routes the same event a {@code pg:wal} route gets. One Kafka
 * consumer per group, shared by the routes of that group; every router in a group shares the topics' partitions, and
 * one subject (the record key) lives in one partition, so its events keep their order.
 * <p>
 * The same contract as the WAL source: each poll is routed synchronously as one batch, and an offset is committed only
 * after the sinks' batch end, below the oldest event a lingering sink still holds: every route delivered the record,
 * parked it in the retry store or wrote it to the dead letters. When partitions are taken away (a router joins or
 * leaves), the sinks first deliver everything they hold and the offsets are committed, inside the consumer's poll: no
 * event of those partitions is routed afterwards, and their next owner starts from what was delivered.
 * camel-kafka's consumer is not used: it commits per record (or on a timer) whatever the sinks still hold.
 */
@Singleton
public class KafkaSource implements EventSource {

    private static final Logger LOG = Logger.getLogger(KafkaSource.class);
    private static final long STOP_WAIT_MS = 30_000;
    private static final long WAITING_RELOAD_NANOS = 10_000_000_000L;

    private final KafkaSourceConfig config;
    private final EventDispatcher dispatcher;
    private final DeadLetterStore deadLetters;
    private final RetryStore retries;
    private final List<PgConsumer> consumers = new CopyOnWriteArrayList<>();
    private final Map<String, GroupReader> readers = new TreeMap<>();
    private boolean started;

    public KafkaSource(KafkaSourceConfig config, EventDispatcher dispatcher, DeadLetterStore deadLetters, RetryStore retries) {
        this.config = config;
        this.dispatcher = dispatcher;
        this.deadLetters = deadLetters;
        this.retries = retries;
    }

    @Override
    public synchronized void subscribe(PgConsumer consumer) {
        if (config.bootstrapServers().isEmpty()) {
            throw new IllegalStateException("pg:kafka needs the Kafka cluster: set pgrouter.kafka.bootstrap-servers=host:port,...");
        }
        consumers.add(consumer);
        // a route added while running (a reload): its group's consumer subscribes to its topics at its next poll
        GroupReader reader = readers.get(group(consumer));
        if (reader != null) reader.topicsChanged = true;
        else if (started) startGroup(group(consumer));
    }

    @Override
    public synchronized void unsubscribe(PgConsumer consumer) {
        consumers.remove(consumer);
        GroupReader reader = readers.get(group(consumer));
        if (reader != null) reader.topicsChanged = true;
    }

    private String group(PgConsumer consumer) {
        String group = consumer.getEndpoint().getGroup();
        return group == null || group.isBlank() ? config.group() : group;
    }

    /** Every router runs it (no Lease): starts a consumer per group that routes read. */
    public synchronized void start() {
        started = true;
        if (!consumers.isEmpty()) deadLetters.ensureSchema();
        for (PgConsumer c : consumers) {
            if (!readers.containsKey(group(c))) startGroup(group(c));
        }
    }

    private void startGroup(String group) {
        Properties properties = ConsumerSettings.forGroup(config.bootstrapServers().orElseThrow(), group, config.consumer());
        GroupReader reader = new GroupReader(group, properties);
        readers.put(group, reader);
        reader.thread.start();
    }

    /** Stops every group's consumer: the sinks deliver what they hold and the offsets are committed first. */
    public void stop() {
        List<GroupReader> running;
        synchronized (this) {
            started = false;
            running = new ArrayList<>(readers.values());
            readers.clear();
        }
        running.forEach(GroupReader::halt);
        for (GroupReader r : running) {
            try {
                r.thread.join(STOP_WAIT_MS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** Up with no route; else up while every group's consumer polls without error. */
    public synchronized SourceState state() {
        if (readers.isEmpty()) return SourceState.up(consumers.isEmpty() ? "no pg:kafka route" : "not started");
        List<String> down = new ArrayList<>();
        List<String> up = new ArrayList<>();
        for (GroupReader r : readers.values()) {
            SourceState s = r.state;
            (s.up() ? up : down).add(s.detail());
        }
        return down.isEmpty() ? SourceState.up(String.join("; ", up)) : SourceState.down(String.join("; ", down));
    }

    private Set<String> topics(String group) {
        Set<String> topics = new TreeSet<>();
        for (PgConsumer c : consumers) {
            if (group(c).equals(group)) topics.addAll(topicsOf(c));
        }
        return topics;
    }

    private static Set<String> topicsOf(PgConsumer c) {
        Set<String> topics = new TreeSet<>();
        for (String t : c.getEndpoint().getTopics().split(",")) {
            if (!t.isBlank()) topics.add(t.trim());
        }
        return topics;
    }

    /** A record routed but not committed yet: its dispatcher sequence, partition and offset. */
    private record Routed(long sequence, TopicPartition partition, long offset) {
    }

    /** One group's consumer on its own thread: polls, routes each poll as a batch, commits what the sinks finished. */
    private final class GroupReader implements Runnable, ConsumerRebalanceListener {
        final String group;
        final Properties properties;
        final Thread thread;
        volatile boolean running = true;
        volatile boolean topicsChanged = true;
        volatile SourceState state;
        private volatile KafkaConsumer<String, byte[]> consumer;
        private Set<String> topics = Set.of();
        /** The routes of this group by topic, rebuilt when the routes change. */
        private Map<String, List<PgConsumer>> routesByTopic = Map.of();
        // touched by this reader's thread only (the rebalance callbacks run inside its poll)
        private final ArrayDeque<Routed> uncommitted = new ArrayDeque<>();
        private final Map<TopicPartition, OffsetAndMetadata> committable = new HashMap<>();
        private long backoffMs;

        GroupReader(String group, Properties properties) {
            this.group = group;
            this.properties = properties;
            this.state = SourceState.down("group " + group + ": starting");
            this.thread = new Thread(this, "pgrouter-kafka-" + group);
            thread.setDaemon(true);
        }

        void halt() {
            running = false;
            KafkaConsumer<String, byte[]> c = consumer;
            if (c != null) c.wakeup();
            synchronized (this) {
                notifyAll(); // ends a backoff pause
            }
        }

        @Override
        public void run() {
            while (running) {
                try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(properties)) {
                    consumer = c;
                    if (!running) return; // stopped before the consumer existed: wakeup() had nothing to wake
                    try {
                        loop();
                    } finally {
                        // a clean stop: what the sinks hold is delivered and committed before the group hears we leave
                        giveUp(null);
                    }
                } catch (RuntimeException e) {
                    // an error the loop does not expect: a new consumer, from the committed offsets, after a pause
                    topics = Set.of();
                    topicsChanged = true;
                    failed("the Kafka consumer stopped (" + e + "); starting a new one");
                    LOG.debug("Kafka source failure", e);
                }
            }
        }

        private void loop() {
            while (running) {
                if (topicsChanged) {
                    topicsChanged = false;
                    routesByTopic = routesByTopic();
                    Set<String> wanted = topics(group);
                    if (!wanted.equals(topics)) {
                        topics = wanted;
                        if (wanted.isEmpty()) {
                            consumer.unsubscribe();
                            state = SourceState.up("group " + group + ": no route reads it");
                        } else {
                            consumer.subscribe(wanted, this);
                            LOG.infof("Kafka source reading topics %s in group %s", wanted, group);
                        }
                    }
                }
                if (topics.isEmpty()) {
                    pause(config.pollTimeoutMs());
                    continue;
                }
                ConsumerRecords<String, byte[]> records;
                try {
                    records = consumer.poll(Duration.ofMillis(config.pollTimeoutMs()));
                } catch (WakeupException e) {
                    continue;
                } catch (KafkaException e) {
                    // authentication, authorisation, a topic that cannot be read: said, then tried again
                    failed("polling failed: " + e.getMessage());
                    continue;
                }
                reloadWaitingNowAndThen();
                if (records.isEmpty() && uncommitted.isEmpty()) {
                    stateUp();
                    continue;
                }
                if (route(records)) {
                    backoffMs = 0;
                    stateUp();
                }
            }
        }

        private long waitingReadAt = System.nanoTime();

        /** Other routers deliver events this one parked: the retry store's counts are read again every few seconds. */
        private void reloadWaitingNowAndThen() {
            if (System.nanoTime() - waitingReadAt < WAITING_RELOAD_NANOS) return;
            waitingReadAt = System.nanoTime();
            retries.reloadWaiting();
        }

        private void stateUp() {
            if (!state.up()) state = SourceState.up("group " + group + ": reading " + topics);
        }

        /** Routes one poll as a batch and commits what the sinks finished; false (and the partitions rewound) when it could not. */
        private boolean route(ConsumerRecords<String, byte[]> records) {
            // where to go back to if this batch cannot be finished: each partition's first record not committed
            Map<TopicPartition, Long> rewind = new HashMap<>();
            for (Routed r : uncommitted) rewind.putIfAbsent(r.partition(), r.offset());
            for (TopicPartition p : records.partitions()) rewind.putIfAbsent(p, records.records(p).get(0).offset());
            long held;
            dispatcher.enterBatch();
            try {
                for (ConsumerRecord<String, byte[]> record : records) {
                    long sequence = dispatcher.nextSequence();
                    TopicPartition partition = new TopicPartition(record.topic(), record.partition());
                    uncommitted.add(new Routed(sequence, partition, record.offset()));
                    CanonicalEvent event;
                    try {
                        event = KafkaRecords.event(record);
                    } catch (RuntimeException notAnEvent) {
                        String where = "kafka/" + record.topic() + "/" + record.partition() + "@" + record.offset();
                        LOG.errorf("record %s is not an event the router can route (%s); writing it to the dead-letter store", where,
                                notAnEvent.getMessage());
                        deadLetters.recordUnroutable(where, record.value() == null ? "" : new String(record.value(),
                                java.nio.charset.StandardCharsets.UTF_8), notAnEvent);
                        continue;
                    }
                    dispatcher.dispatch("kafka", event, consumersOf(record.topic()), sequence);
                }
                held = dispatcher.endOfBatch().sequence();
            } catch (Exception e) {
                // neither delivered nor stored: read again from the first record not committed
                rewind.forEach(consumer::seek);
                uncommitted.removeIf(r -> rewind.containsKey(r.partition()));
                failed("a batch could be neither delivered nor stored (" + e.getMessage() + "); reading it again");
                return false;
            } finally {
                dispatcher.leaveBatch();
            }
            commitBelow(held);
            return true;
        }

        private List<PgConsumer> consumersOf(String topic) {
            return routesByTopic.getOrDefault(topic, List.of());
        }

        private Map<String, List<PgConsumer>> routesByTopic() {
            Map<String, List<PgConsumer>> byTopic = new HashMap<>();
            for (PgConsumer c : consumers) {
                if (!group(c).equals(group)) continue;
                for (String topic : topicsOf(c)) byTopic.computeIfAbsent(topic, t -> new ArrayList<>()).add(c);
            }
            return byTopic;
        }

        /** Commits every record routed before sequence {@code held} (the oldest event a sink still holds). */
        private void commitBelow(long held) {
            while (!uncommitted.isEmpty() && uncommitted.peekFirst().sequence() < held) {
                Routed r = uncommitted.pollFirst();
                committable.put(r.partition(), new OffsetAndMetadata(r.offset() + 1));
            }
            if (committable.isEmpty()) return;
            try {
                commitSync();
            } catch (WakeupException e) {
                // a stop woke the consumer while it committed: the wake-up is spent, so the commit can be made now
                try {
                    commitSync();
                } catch (KafkaException again) {
                    LOG.debugf("group %s: offsets not committed (%s)", group, again.toString());
                }
            } catch (KafkaException e) {
                // a rebalance in progress, a timeout: tried again after the next batch or when the partitions go
                LOG.debugf("group %s: offsets not committed yet (%s)", group, e.toString());
            }
        }

        private void commitSync() {
            consumer.commitSync(committable, Duration.ofSeconds(10));
            committable.clear();
        }

        /**
         * Partitions go to another router (or this one stops): the sinks deliver what they hold, the offsets are
         * committed, and nothing of those partitions is routed from here on.
         */
        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
            if (partitions.isEmpty()) return;
            giveUp(partitions);
        }

        /** @param partitions those given up, or null for all (a stop) */
        private void giveUp(Collection<TopicPartition> partitions) {
            if (!uncommitted.isEmpty() || !committable.isEmpty()) {
                try {
                    dispatcher.betweenBatches(() -> {
                        commitBelow(Long.MAX_VALUE);
                        return null;
                    });
                } catch (Exception e) {
                    LOG.warnf("group %s: the sinks could not deliver what they held before partitions %s were given up (%s): their next "
                            + "owner delivers them again", group, partitions == null ? "(all)" : partitions, e.getMessage());
                }
            }
            forget(partitions);
        }

        /** Partitions taken without a revocation (this router missed its session): nothing of them may be committed now. */
        @Override
        public void onPartitionsLost(Collection<TopicPartition> partitions) {
            LOG.warnf("group %s: partitions %s were lost (this router missed the group's session timeout); their next owner reads them "
                    + "from the last committed offsets", group, partitions);
            forget(partitions);
        }

        private void forget(Collection<TopicPartition> partitions) {
            if (partitions == null) {
                uncommitted.clear();
                committable.clear();
                return;
            }
            uncommitted.removeIf(r -> partitions.contains(r.partition()));
            committable.keySet().removeAll(partitions);
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
            if (partitions.isEmpty()) return;
            // another router may have parked events of these partitions' subjects: later ones must queue behind them
            retries.reloadWaiting();
            LOG.infof("group %s: reading partitions %s", group, partitions);
        }

        private void failed(String why) {
            backoffMs = backoffMs == 0 ? 500 : Math.min(backoffMs * 2, config.maxBackoffMs());
            String detail = "group " + group + ": " + why;
            if (state.up() || !detail.equals(state.detail())) LOG.errorf("Kafka source: %s; next attempt in %d ms", detail, backoffMs);
            state = SourceState.down(detail);
            pause(backoffMs);
        }

        private synchronized void pause(long ms) {
            if (!running) return;
            try {
                wait(ms);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                running = false;
            }
        }
    }
}
