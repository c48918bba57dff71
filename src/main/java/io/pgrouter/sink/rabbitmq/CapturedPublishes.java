package io.pgrouter.sink.rabbitmq;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.TreeMap;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.ConfirmCallback;
import com.rabbitmq.client.Connection;

import io.pgrouter.delivery.DryRun;

/**
 * The RabbitMQ sink's connection in a dry run: the sink publishes as for real, and each channel hands the message
 * (exchange, routing key, properties, body) to the capture and confirms it at once. JDK proxies: the sink uses a
 * handful of the client's methods, the rest answer with nothing.
 */
final class CapturedPublishes {

    private CapturedPublishes() {
    }

    static Connection connection() {
        return DryRun.standIn(Connection.class, (self, method, args) -> switch (method.getName()) {
            case "createChannel" -> channel();
            case "isOpen" -> true;
            default -> null;
        });
    }

    private static Channel channel() {
        long[] next = { 1 };
        ConfirmCallback[] ack = new ConfirmCallback[1];
        return DryRun.standIn(Channel.class, (self, method, args) -> switch (method.getName()) {
            case "isOpen" -> true;
            case "getNextPublishSeqNo" -> next[0];
            case "addConfirmListener" -> {
                if (args.length == 2) ack[0] = (ConfirmCallback) args[0];
                yield null;
            }
            case "basicPublish" -> {
                int n = args.length;
                DryRun.sent(RabbitMqConfig.SINK, describe((String) args[0], (String) args[1], (AMQP.BasicProperties) args[n - 2], (byte[]) args[n - 1]));
                long seq = next[0]++;
                if (ack[0] != null) ack[0].handle(seq, false);
                yield null;
            }
            default -> null;
        });
    }

    static String describe(String exchange, String routingKey, AMQP.BasicProperties p, byte[] body) {
        StringBuilder text = new StringBuilder();
        text.append("exchange: ").append(exchange.isEmpty() ? "(default)" : exchange).append('\n');
        text.append("routing key: ").append(routingKey).append('\n');
        line(text, "message-id", p.getMessageId());
        line(text, "content-type", p.getContentType());
        line(text, "content-encoding", p.getContentEncoding());
        line(text, "delivery-mode", p.getDeliveryMode());
        line(text, "type", p.getType());
        line(text, "app-id", p.getAppId());
        line(text, "timestamp", p.getTimestamp() == null ? null : p.getTimestamp().toInstant());
        if (p.getHeaders() != null) {
            for (Map.Entry<String, Object> h : new TreeMap<>(p.getHeaders()).entrySet()) text.append("header ").append(h.getKey()).append(": ").append(h.getValue()).append('\n');
        }
        text.append('\n').append(new String(body, StandardCharsets.UTF_8)).append('\n');
        return text.toString();
    }

    private static void line(StringBuilder text, String name, Object value) {
        if (value != null) text.append(name).append(": ").append(value).append('\n');
    }
}
