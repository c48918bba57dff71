package io.pgrouter.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.DefaultConsumer;
import com.rabbitmq.client.Envelope;

/** What a service consuming from RabbitMQ would do in a test: declare its queue, bind it, and keep what it receives. */
public final class RabbitConsumer implements AutoCloseable {

    /** One message as the consumer got it. */
    public record Received(String routingKey, AMQP.BasicProperties properties, String body) {
        public String header(String name) {
            Object v = properties.getHeaders() == null ? null : properties.getHeaders().get(name);
            return v == null ? null : v.toString();
        }
    }

    private final Connection connection;
    private final Channel channel;
    public final List<Received> received = new CopyOnWriteArrayList<>();

    private RabbitConsumer(String url) throws Exception {
        ConnectionFactory f = new ConnectionFactory();
        f.setUri(url);
        connection = f.newConnection("test-consumer");
        channel = connection.createChannel();
    }

    /** A consumer of a new queue (durable or not) bound to {@code exchange} with {@code bindingKey}. */
    public static RabbitConsumer on(String url, String exchange, String exchangeType, String queue, boolean durable, String bindingKey,
            Map<String, Object> exchangeArguments) throws Exception {
        RabbitConsumer c = new RabbitConsumer(url);
        c.channel.exchangeDeclare(exchange, exchangeType, true, false, exchangeArguments);
        c.channel.queueDeclare(queue, durable, false, false, null);
        c.channel.queueBind(queue, exchange, bindingKey);
        return c;
    }

    public Channel channel() {
        return channel;
    }

    /** Starts receiving (manual acks after the message is kept, one at a time). */
    public RabbitConsumer consume(String queue) throws IOException {
        channel.basicQos(10);
        channel.basicConsume(queue, false, new DefaultConsumer(channel) {
            @Override
            public void handleDelivery(String tag, Envelope envelope, AMQP.BasicProperties properties, byte[] body) throws IOException {
                received.add(new Received(envelope.getRoutingKey(), properties, new String(body, StandardCharsets.UTF_8)));
                channel.basicAck(envelope.getDeliveryTag(), false);
            }
        });
        return this;
    }

    @Override
    public void close() throws Exception {
        if (connection.isOpen()) connection.close();
    }
}
