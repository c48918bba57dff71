package io.pgrouter.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Properties;

import jakarta.jms.JMSException;
import jakarta.jms.Session;
import jakarta.jms.TextMessage;

import org.apache.activemq.artemis.core.config.impl.ConfigurationImpl;
import org.apache.activemq.artemis.core.server.JournalType;
import org.apache.activemq.artemis.core.server.embedded.EmbeddedActiveMQ;
import org.apache.activemq.artemis.jms.client.ActiveMQConnectionFactory;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;

/**
 * WAL -> message queues (bench/queues.sh, README in bench/): the packaged router with
 * {@code pg:wal?tables=bench.events -> kamelet:jms-sink} to ActiveMQ Artemis and {@code -> kamelet:kafka-sink} to a
 * KRaft Kafka, both brokers in this JVM, next to the foundation's WAL baseline (pg_recvlogical) measured in the same
 * session, with the loads of {@link Bench} (1-row and 1000-row transactions).
 *
 * Clock points: commit = pg_xact_commit_timestamp of the row's txid; received = this JVM's clock when a consumer of
 * the queue or topic got the message (a JMS listener's onMessage; the return of a Kafka poll). The broker acknowledged
 * the router's commit or send before that, so received - commit is an upper bound of commit -> acknowledged.
 */
public final class QueuesBench {

    private QueuesBench() {
    }

    public static void main(String... args) throws Exception {
        Bench.quietLogging();
        Runtime.getRuntime().addShutdownHook(new Thread(Bench::closeAll, "bench-cleanup"));
        int code = 1;
        try {
            code = run();
        } finally {
            Bench.closeAll();
        }
        if (code != 0) throw new IllegalStateException("queues benchmark incomplete: see the table above");
    }

    private static int run() throws Exception {
        Bench.Setup setup = Bench.setUp("bench-queues");
        Path work = setup.work();

        Bench.say("starting ActiveMQ Artemis (persistent NIO journal under %s) and a one-node KRaft Kafka in this JVM", work);
        int artemisPort = Procs.freePort();
        String artemisUrl = "tcp://127.0.0.1:" + artemisPort;
        EmbeddedActiveMQ artemis = new EmbeddedActiveMQ().setConfiguration(new ConfigurationImpl().setPersistenceEnabled(true)
                .setSecurityEnabled(false).setJMXManagementEnabled(false).setJournalType(JournalType.NIO)
                .setJournalDirectory(work.resolve("artemis/journal").toString()).setBindingsDirectory(work.resolve("artemis/bindings").toString())
                .setPagingDirectory(work.resolve("artemis/paging").toString()).setLargeMessagesDirectory(work.resolve("artemis/large").toString())
                .addAcceptorConfiguration("tcp", artemisUrl));
        artemis.start();
        Bench.open(artemis::stop);
        KafkaClusterTestKit kafka = new KafkaClusterTestKit.Builder(new TestKitNodes.Builder().setCombined(true).setNumBrokerNodes(1)
                .setNumControllerNodes(1).setBaseDirectory(work.resolve("kafka")).build())
                .setConfigProp("offsets.topic.replication.factor", (short) 1).build();
        kafka.format();
        kafka.startup();
        kafka.waitForReadyBrokers();
        Bench.open(kafka);
        String topic = "pg.bench.events";
        Properties adminProps = new Properties();
        adminProps.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        try (Admin admin = Admin.create(adminProps)) {
            admin.createTopics(List.of(new NewTopic(topic, 3, (short) 1))).all().get();
        }

        List<Bench.Result> results = new ArrayList<>();
        List<Bench.ProcessFacts> facts = new ArrayList<>();
        long started = System.nanoTime();
        Bench.measure("WAL", "bench.events", new RecvLogicalBaseline(setup.pgBin(), Bench.dir(work, "wal-baseline"), setup.db().port(),
                setup.admin(), "bench_baseline", "bench_baseline"), setup.db(), setup.admin(), results, facts);
        String jmsSink = "jms-sink?brokerUrl=" + artemisUrl + "&destination=bench";
        Bench.measure("WAL", "bench.events", new QueueConsumer("router (pg:wal -> " + jmsSink + ")", setup, Bench.dir(work, "jms-router"), "bench_jms",
                jmsSink, new JmsReader(artemisUrl, "bench")), setup.db(), setup.admin(), results, facts);
        String kafkaSink = "kafka-sink?brokers=" + kafka.bootstrapServers();
        Bench.measure("WAL", "bench.events", new QueueConsumer("router (pg:wal -> " + kafkaSink + ")", setup, Bench.dir(work, "kafka-router"),
                "bench_kafka", kafkaSink, new KafkaReader(kafka.bootstrapServers(), topic)), setup.db(), setup.admin(), results, facts);
        double minutes = (System.nanoTime() - started) / 60e9;

        StringBuilder report = new StringBuilder(Bench.report(results, facts, setup.serverVersion(), minutes, false));
        report.append("\n### Target: ≥ 20k events/s to Artemis and to Kafka (reported, not asserted)\n\n");
        for (Bench.Result r : results) {
            if (!r.consumer().startsWith("router") || r.runs().isEmpty() || (r.load() != Bench.Load.FLAT_1 && r.load() != Bench.Load.FLAT_N)) continue;
            report.append(String.format(Locale.ROOT, "- %s, %s: %.0f events/s → %s%n", r.consumer(), r.load().label.replace("N-row", Bench.ROWS + "-row"),
                    r.eventsPerSec(), r.eventsPerSec() >= 20_000 ? "met" : "NOT met"));
        }
        Files.writeString(work.resolve("results.md"), report);
        System.out.println();
        System.out.println(report);
        Bench.say("written to %s; router logs under %s/*-router/router.log", work.resolve("results.md"), work);
        return results.stream().allMatch(Bench.Result::complete) ? 0 : 1;
    }

    /** Reads what the router sent, stamping each message when it arrives. */
    interface Reader extends AutoCloseable {
        void start(Arrivals into) throws Exception;

        @Override
        void close();
    }

    /** The packaged router with one route from bench.events to a sink Kamelet, and a reader on what the sink sends to. */
    static final class QueueConsumer implements Consumer {
        private final String name;
        private final Bench.Setup setup;
        private final Path work;
        private final String slot;
        private final String sink;
        private final Reader reader;
        private final Arrivals arrivals = new Arrivals();
        private Process process;

        QueueConsumer(String name, Bench.Setup setup, Path work, String slot, String sink, Reader reader) {
            this.name = name;
            this.setup = setup;
            this.work = work;
            this.slot = slot;
            this.sink = sink;
            this.reader = reader;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public void start() throws Exception {
            Path routes = Files.createDirectories(work.resolve("routes"));
            Files.writeString(routes.resolve("wal-bench-events-to-queue.yaml"), String.join("\n",
                    "# written by QueuesBench",
                    "- route:",
                    "    id: wal-bench-events-to-queue",
                    "    from:",
                    "      uri: pg:wal",
                    "      parameters:",
                    "        tables: bench.events",
                    "      steps:",
                    "        - to: \"kamelet:" + sink + "\"",
                    ""));
            reader.start(arrivals);
            process = RouterConsumer.launch(setup.jar(), work, setup.db().jdbcUrl(), routes, slot, Procs.freePort(), work.resolve("router.log"));
        }

        @Override
        public Arrivals arrivals() {
            return arrivals;
        }

        @Override
        public Seen parse(Object item) throws Exception {
            return RouterConsumer.seen((String) item);
        }

        @Override
        public Process process() {
            return process;
        }

        @Override
        public void close() {
            Procs.stop(process, 30_000);
            reader.close();
            try (Statement s = setup.admin().createStatement()) {
                s.execute("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '" + slot + "' AND NOT active");
            } catch (Exception e) {
                System.err.println("[bench] dropping slot " + slot + ": " + e);
            }
        }
    }

    /** One JMS consumer on the queue (a listener, dups-ok acknowledgement). */
    static final class JmsReader implements Reader {
        private final String url;
        private final String queue;
        private jakarta.jms.Connection connection;

        JmsReader(String url, String queue) {
            this.url = url;
            this.queue = queue;
        }

        @Override
        public void start(Arrivals into) throws JMSException {
            connection = new ActiveMQConnectionFactory(url).createConnection();
            Session session = connection.createSession(false, Session.DUPS_OK_ACKNOWLEDGE);
            session.createConsumer(session.createQueue(queue)).setMessageListener(m -> {
                long stamp = Arrivals.nowMicros();
                try {
                    into.add(stamp, ((TextMessage) m).getText());
                } catch (JMSException e) {
                    throw new IllegalStateException(e);
                }
            });
            connection.start();
        }

        @Override
        public void close() {
            try {
                if (connection != null) connection.close();
            } catch (JMSException e) {
                System.err.println("[bench] closing the JMS reader: " + e);
            }
        }
    }

    /** One Kafka consumer assigned every partition of the topic, from its end at start, polling in a thread. */
    static final class KafkaReader implements Reader {
        private final String brokers;
        private final String topic;
        private volatile boolean running;
        private Thread thread;

        KafkaReader(String brokers, String topic) {
            this.brokers = brokers;
            this.topic = topic;
        }

        @Override
        public void start(Arrivals into) {
            Properties p = new Properties();
            p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, brokers);
            KafkaConsumer<String, String> consumer = new KafkaConsumer<>(p, new StringDeserializer(), new StringDeserializer());
            List<TopicPartition> partitions = consumer.partitionsFor(topic).stream().map(i -> new TopicPartition(i.topic(), i.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToEnd(partitions);
            partitions.forEach(consumer::position);
            running = true;
            thread = new Thread(() -> {
                try (consumer) {
                    while (running) {
                        var records = consumer.poll(Duration.ofMillis(100));
                        long stamp = Arrivals.nowMicros();
                        for (ConsumerRecord<String, String> r : records) into.add(stamp, r.value());
                    }
                }
            }, "bench-kafka-reader");
            thread.setDaemon(true);
            thread.start();
        }

        @Override
        public void close() {
            running = false;
            try {
                if (thread != null) thread.join(5_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
