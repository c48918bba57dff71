package io.pgrouter.bench;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.DefaultConsumer;
import com.rabbitmq.client.Envelope;

import io.pgrouter.testing.RabbitMqBroker;

/**
 * WAL -> RabbitMQ (bench/rabbitmq.sh): a real RabbitMQ (Debian's rabbitmq-server, the one the tests start), the
 * packaged router with {@code pg:wal?tables=bench.events -> kamelet:rabbitmq-sink} (persistent messages, publisher
 * confirms per source batch), and a consumer in the harness on a durable queue bound to the exchange. An event
 * counts as arrived when the consumer's handleDelivery is entered for it (auto-ack, prefetch 1000): the broker
 * had it routed to the queue; the router's confirm for it arrives at the end of its source batch.
 */
final class RabbitMqConsumer implements Consumer {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final String name;
    private final Path jar;
    private final Path route;
    private final Path work;
    private final String jdbcUrl;
    private final String slot;
    private final Arrivals arrivals = new Arrivals();

    private RabbitMqBroker broker;
    private Connection connection;
    private Process process;

    RabbitMqConsumer(String name, Path jar, Path route, Path work, String jdbcUrl, String slot) {
        this.name = name;
        this.jar = jar;
        this.route = route;
        this.work = work;
        this.jdbcUrl = jdbcUrl;
        this.slot = slot;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public Arrivals arrivals() {
        return arrivals;
    }

    @Override
    public void start() throws Exception {
        broker = new RabbitMqBroker(128L * 1024 * 1024).start();
        ConnectionFactory f = new ConnectionFactory();
        f.setUri(broker.url());
        connection = f.newConnection("bench-consumer");
        Channel channel = connection.createChannel();
        channel.exchangeDeclare("bench", "topic", true);
        channel.queueDeclare("bench-jobs", true, false, false, null);
        channel.queueBind("bench-jobs", "bench", "bench.events.*");
        channel.basicQos(1000);
        channel.basicConsume("bench-jobs", true, new DefaultConsumer(channel) {
            @Override
            public void handleDelivery(String tag, Envelope envelope, AMQP.BasicProperties properties, byte[] body) {
                arrivals.add(Arrivals.nowMicros(), new String(body, StandardCharsets.UTF_8));
            }
        });
        Path routes = Files.createDirectories(work.resolve("routes"));
        Files.copy(route, routes.resolve(route.getFileName()), StandardCopyOption.REPLACE_EXISTING);
        process = RouterConsumer.launch(jar, work, jdbcUrl, routes, slot, Procs.freePort(), work.resolve("router.log"),
                "-Dpgrouter.sinks.rabbitmq.url=" + broker.url());
    }

    @Override
    public Seen parse(Object item) throws Exception {
        JsonNode event = JSON.readTree((String) item);
        JsonNode after = event.path("data").path("after");
        long time = event.hasNonNull("time") ? RouterConsumer.micros(Instant.parse(event.get("time").asText())) : -1;
        return new Seen(after.path("txid").asLong(-1), after.path("n").asInt(-1), time);
    }

    @Override
    public Process process() {
        return process;
    }

    @Override
    public void close() {
        Procs.stop(process, 30_000);
        try {
            if (connection != null && connection.isOpen()) connection.close();
        } catch (Exception e) {
            System.err.println("[bench] closing the RabbitMQ consumer: " + e);
        }
        try {
            if (broker != null) broker.close();
        } catch (Exception e) {
            System.err.println("[bench] stopping RabbitMQ: " + e);
        }
    }
}
