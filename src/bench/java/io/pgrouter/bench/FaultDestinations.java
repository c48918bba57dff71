package io.pgrouter.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;

import com.fasterxml.jackson.databind.JsonNode;
import com.rabbitmq.client.ConnectionFactory;

import io.pgrouter.testing.KafkaNode;
import io.pgrouter.testing.RabbitMqBroker;
import io.pgrouter.testing.TcpForwarder;

/**
 * The fault suite's destinations besides the webhook, the lake and the JMS queue: a one-node Kafka in this JVM (taken
 * down for real: stopped and started again on its address), RabbitMQ (Debian's server) and an OpenSearch node (both
 * reached by the router through a {@link TcpForwarder} that takes them down for the router: its address refuses
 * connections, as a stopped server's, while the harness keeps reading them directly).
 */
final class FaultDestinations {

    static final String TOPIC = "faults";
    static final String QUEUE = "faults";

    private FaultDestinations() {
    }

    /** One destination the suite can take down and bring back. */
    interface Outage {
        String name();

        void down() throws Exception;

        void up() throws Exception;
    }

    /** A step of an outage. */
    interface Step {
        void run() throws Exception;
    }

    static Outage outage(String name, Step down, Step up) {
        return new Outage() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public void down() throws Exception {
                down.run();
            }

            @Override
            public void up() throws Exception {
                up.run();
            }
        };
    }

    /** A server behind a forwarder: down = its address refuses connections and the open ones are cut, as a stopped server's. */
    static Outage cut(String name, TcpForwarder forwarder) {
        return outage(name, forwarder::refuse, forwarder::listen);
    }

    /** The one-node Kafka and a consumer of topic {@link #TOPIC} from its start (no group: assigned partitions). */
    static final class Kafka implements AutoCloseable {
        final FaultsBench.Receiver received = new FaultsBench.Receiver("kafka");
        final KafkaNode node;
        private volatile boolean running = true;
        private final Thread reader;

        Kafka(Path work) throws Exception {
            node = new KafkaNode(work.resolve("kafka"), Map.of());
            node.start();
            Properties admin = new Properties();
            admin.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, node.bootstrapServers());
            try (Admin a = Admin.create(admin)) {
                a.createTopics(List.of(new NewTopic(TOPIC, 3, (short) 1))).all().get();
            }
            Properties p = new Properties();
            p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, node.bootstrapServers());
            KafkaConsumer<String, String> consumer = new KafkaConsumer<>(p, new StringDeserializer(), new StringDeserializer());
            List<TopicPartition> partitions = consumer.partitionsFor(TOPIC).stream().map(i -> new TopicPartition(i.topic(), i.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            reader = new Thread(() -> {
                try (consumer) {
                    while (running) {
                        for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(100))) received.got(r.value());
                    }
                }
            }, "bench-faults-kafka");
            reader.setDaemon(true);
            reader.start();
        }

        Outage outage() {
            return FaultDestinations.outage("Kafka", node::stop, node::start);
        }

        @Override
        public void close() throws InterruptedException {
            running = false;
            reader.join(5_000);
            node.stop();
        }
    }

    /** RabbitMQ with a durable queue {@link #QUEUE} bound to a direct exchange of the same name, consumed directly. */
    static final class Rabbit implements AutoCloseable {
        final FaultsBench.Receiver received = new FaultsBench.Receiver("rabbitmq");
        final RabbitMqBroker broker;
        final TcpForwarder forwarder;
        private final com.rabbitmq.client.Connection connection;

        Rabbit() throws Exception {
            broker = new RabbitMqBroker(128L * 1024 * 1024).start();
            ConnectionFactory f = new ConnectionFactory();
            f.setUri(broker.url());
            connection = f.newConnection("bench-faults");
            com.rabbitmq.client.Channel channel = connection.createChannel();
            channel.exchangeDeclare(QUEUE, "direct", true);
            channel.queueDeclare(QUEUE, true, false, false, null);
            channel.queueBind(QUEUE, QUEUE, QUEUE);
            channel.basicConsume(QUEUE, true, (tag, delivery) -> received.got(new String(delivery.getBody(), StandardCharsets.UTF_8)), tag -> { });
            forwarder = new TcpForwarder(broker.port());
        }

        /** The router's URL: through the forwarder. */
        String url() {
            return "amqp://127.0.0.1:" + forwarder.port() + "/%2F";
        }

        @Override
        public void close() throws Exception {
            forwarder.close();
            connection.close();
            broker.close();
        }
    }

    /** An OpenSearch node (own JVM, 512 MB heap) and the forwarder the router reaches it through. */
    static final class Search implements AutoCloseable {
        final TcpForwarder forwarder;

        Search(Process node) throws Exception {
            SearchBench.awaitNode(node);
            forwarder = new TcpForwarder(java.net.URI.create(SearchBench.node()).getPort());
        }

        String url() {
            return "http://127.0.0.1:" + forwarder.port();
        }

        /** Documents in the row indexes (one per row: the index is kept by primary key, so a repeat is not seen). */
        long count(List<String> indexes) throws Exception {
            return SearchBench.call("POST", "/" + String.join(",", indexes) + "/_count?ignore_unavailable=true", "{}").path("count").asLong();
        }

        /** The rows the indexes hold, by (index = table name, sequence), read page by page. */
        FaultsBench.Receiver read(List<String> indexes) throws Exception {
            FaultsBench.Receiver r = new FaultsBench.Receiver("search");
            SearchBench.call("POST", "/" + String.join(",", indexes) + "/_refresh?ignore_unavailable=true", null);
            for (String index : indexes) {
                String after = "";
                while (true) {
                    JsonNode hits = SearchBench.call("POST", "/" + index + "/_search?ignore_unavailable=true", "{\"size\": 10000, \"_source\": [\"seq\"], "
                            + "\"sort\": [{\"seq\": \"asc\"}]" + after + "}").path("hits").path("hits");
                    if (hits.isEmpty()) break;
                    for (JsonNode hit : hits) r.add(index + ":" + hit.path("_source").path("seq").asLong(), 1);
                    JsonNode last = hits.get(hits.size() - 1).path("sort");
                    after = ", \"search_after\": " + last;
                }
            }
            return r;
        }

        @Override
        public void close() throws IOException {
            forwarder.close();
        }
    }
}
