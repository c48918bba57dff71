package io.pgrouter.sink.jms;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import jakarta.jms.Connection;
import jakarta.jms.DeliveryMode;
import jakarta.jms.Destination;
import jakarta.jms.JMSException;
import jakarta.jms.MessageProducer;
import jakarta.jms.Session;
import jakarta.jms.TextMessage;

import org.apache.activemq.artemis.core.client.impl.ClientMessageImpl;
import org.apache.activemq.artemis.jms.client.ActiveMQTextMessage;

import io.pgrouter.delivery.DryRun;

/**
 * The JMS sink's connection in a dry run: the sink makes its messages as for real (Artemis text messages with their
 * properties), and the producer hands each to the capture with its destination and delivery mode instead of a broker.
 * JDK proxies: the sink uses a handful of the JMS interfaces' methods, the rest answer with nothing.
 */
final class CapturedMessages {

    private CapturedMessages() {
    }

    static Connection connection() {
        return DryRun.standIn(Connection.class, (self, method, args) -> switch (method.getName()) {
            case "createSession" -> session();
            default -> null;
        });
    }

    private static Session session() {
        return DryRun.standIn(Session.class, (self, method, args) -> switch (method.getName()) {
            case "createTextMessage" -> textMessage(args == null ? null : (String) args[0]);
            case "createProducer" -> producer((Destination) args[0]);
            case "getTransacted" -> true;
            default -> null;
        });
    }

    /** An Artemis text message without a broker session, writable as one the session made. */
    private static TextMessage textMessage(String text) throws JMSException {
        ActiveMQTextMessage m = new ActiveMQTextMessage(new ClientMessageImpl(ActiveMQTextMessage.TYPE, true, 0, 0, (byte) 4, 1024), null);
        m.clearBody();
        m.clearProperties();
        m.setText(text);
        return m;
    }

    private static MessageProducer producer(Destination destination) {
        int[] mode = { DeliveryMode.PERSISTENT };
        return DryRun.standIn(MessageProducer.class, (self, method, args) -> switch (method.getName()) {
            case "setDeliveryMode" -> {
                mode[0] = (Integer) args[0];
                yield null;
            }
            case "getDeliveryMode" -> mode[0];
            case "getDestination" -> destination;
            case "send" -> {
                DryRun.sent(JmsConfig.SINK, describe(destination, mode[0], (TextMessage) args[args.length == 1 ? 0 : 1]));
                yield null;
            }
            default -> null;
        });
    }

    static String describe(Destination destination, int mode, TextMessage m) throws JMSException {
        StringBuilder text = new StringBuilder();
        text.append("destination: ").append(destination).append('\n');
        text.append("delivery mode: ").append(mode == DeliveryMode.PERSISTENT ? "persistent" : "non-persistent").append('\n');
        List<String> names = new ArrayList<>();
        for (var e = m.getPropertyNames(); e.hasMoreElements();) names.add((String) e.nextElement());
        names.remove("JMSXDeliveryCount"); // the broker's count on delivery: a message being sent has none
        Collections.sort(names);
        for (String name : names) text.append("property ").append(name).append(": ").append(m.getObjectProperty(name)).append('\n');
        text.append('\n').append(m.getText()).append('\n');
        return text.toString();
    }
}
