package io.pgrouter.sink.jms;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import jakarta.jms.Connection;
import jakarta.jms.DeliveryMode;
import jakarta.jms.InvalidDestinationException;
import jakarta.jms.InvalidDestinationRuntimeException;
import jakarta.jms.JMSException;
import jakarta.jms.JMSRuntimeException;
import jakarta.jms.JMSSecurityException;
import jakarta.jms.JMSSecurityRuntimeException;
import jakarta.jms.MessageFormatException;
import jakarta.jms.MessageFormatRuntimeException;
import jakarta.jms.MessageProducer;
import jakarta.jms.Session;
import jakarta.jms.TextMessage;

import org.apache.activemq.artemis.api.core.ActiveMQException;
import org.apache.activemq.artemis.api.core.Message;
import org.apache.activemq.artemis.api.core.SimpleString;
import org.apache.activemq.artemis.api.jms.ActiveMQJMSClient;
import org.apache.activemq.artemis.jms.client.ActiveMQConnectionFactory;
import org.apache.activemq.artemis.jms.client.ActiveMQMessage;

import io.pgrouter.delivery.HeldCalls;
import io.pgrouter.delivery.SinkContext;
import io.pgrouter.delivery.SinkDeliveryException;
import io.pgrouter.sink.queue.QueueDelivery;
import io.pgrouter.sink.queue.QueueEvent;
import io.pgrouter.sink.queue.QueueSink;

/**
 * One Artemis destination. A batch is one transacted session commit: every message persistent, body = the event
 * JSON, the CloudEvents attributes as {@code ce_*} properties, {@code JMSXGroupID} = the subject so one subject's
 * messages go to one consumer at a time, in order, however many consumers compete.
 */
public class JmsSink extends QueueSink {

    private final JmsConfig config;
    private final ActiveMQConnectionFactory factory;

    public JmsSink(JmsConfig config, SinkContext context) {
        super(config, context);
        this.config = config;
        factory = new ActiveMQConnectionFactory(config.getBrokerUrl(), blankToNull(config.getUsername()), blankToNull(config.getPassword()));
        // reconnection is the delivery contract's job (in-line retries, then the retry store): fail fast instead of blocking the stream
        factory.setInitialConnectAttempts(1);
        factory.setReconnectAttempts(0);
        factory.setCallTimeout(config.getTimeoutMs());
        factory.setCallFailoverTimeout(config.getTimeoutMs());
        // the default 64 KiB of send credit is ~30 event messages: a batch would wait for credit round trips
        factory.setProducerWindowSize(1024 * 1024);
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s;
    }

    @Override
    protected void buffered(QueueEvent event) {
        stream.early(event);
    }

    @Override
    protected void send(QueueDelivery.Batch batch) throws SinkDeliveryException {
        stream.send(batch);
    }

    @Override
    protected void sendRedelivery(QueueDelivery.Batch batch) throws SinkDeliveryException {
        retry.send(batch);
    }

    @Override
    protected void disconnect() {
        stream.close();
        retry.close();
    }

    private final Link stream = new Link();
    private final Link retry = new Link();

    /** A send the broker may hold. */
    private interface Send {
        void run() throws JMSException;
    }

    /** One connection with its transacted session and producer, opened on first use and after a failure. */
    private final class Link {
        private Connection connection;
        private Session session;
        private MessageProducer producer;
        /**
         * Messages sent into the open transaction as their events arrived, in order: the broker stores them while the
         * routing thread maps the next events, and the batch end only commits (sending a whole batch at its end left
         * the broker idle while events were mapped, then the routing thread idle while the broker stored them).
         */
        private List<QueueEvent> early = new ArrayList<>();
        private boolean earlyFailed;
        /** The watchdog closed this link's connection under a send the broker held. */
        private boolean held;

        void early(QueueEvent e) {
            if (earlyFailed) return;
            try {
                connect();
                TextMessage m = message(e);
                guarded(() -> producer.send(m));
                early.add(e);
            } catch (JMSException | JMSRuntimeException failure) {
                // the batch end rolls back and sends the whole batch again, with the failure handling below
                earlyFailed = true;
            }
        }

        /**
         * Runs a send, closing the connection under it when the broker holds it longer than timeoutMs: a producer
         * waits for credit without a time limit while the broker blocks its address (full, with the BLOCK policy, or
         * the broker's disk over max-disk-usage).
         */
        private void guarded(Send send) throws JMSException {
            Connection c = connection;
            HeldCalls.Watch watch = HeldCalls.watch(config.getTimeoutMs(), () -> {
                try {
                    c.close();
                } catch (JMSException | JMSRuntimeException e) {
                    // closed already: the send has ended
                }
            });
            try {
                send.run();
            } finally {
                // the connection is closed (or being closed) whatever the send returned
                if (watch.held()) held = true;
            }
            if (held) throw heldFailure();
        }

        private JMSException heldFailure() {
            return new JMSException("the broker held the send for over " + config.getTimeoutMs()
                    + " ms: it blocks the address (full, with address-full-policy BLOCK, or its disk is over max-disk-usage)");
        }

        /** One transaction for the batch; a message refused for good is set aside and the rest sent again. */
        void send(QueueDelivery.Batch batch) throws SinkDeliveryException {
            List<QueueEvent> sentEarly = early;
            boolean failedEarly = earlyFailed;
            early = new ArrayList<>();
            earlyFailed = false;
            if (held) {
                // the broker holds the address: sending the batch again would wait as long once more
                JMSException e = heldFailure();
                close();
                throw failure(e, true);
            }
            if (!sentEarly.isEmpty() || failedEarly) {
                if (!failedEarly && same(sentEarly, batch.remaining())) {
                    try {
                        session.commit();
                        batch.delivered();
                        return;
                    } catch (JMSException | JMSRuntimeException e) {
                        // not known which message it was: the loop below sends the batch again message by message
                    }
                }
                rollback();
            }
            while (true) {
                List<QueueEvent> events = batch.remaining();
                if (events.isEmpty()) return;
                int sent = 0;
                try {
                    connect();
                    for (QueueEvent e : events) {
                        TextMessage m = message(e);
                        guarded(() -> producer.send(m));
                        sent++;
                    }
                    session.commit();
                    batch.delivered();
                    return;
                } catch (JMSException | JMSRuntimeException caught) {
                    Exception e = held ? heldFailure() : caught;
                    boolean permanent = !held && permanent(caught);
                    if (permanent && sent < events.size()) {
                        rollback();
                        batch.reject(events.get(sent), failure(e, false));
                        continue;
                    }
                    close();
                    throw failure(e, !permanent);
                }
            }
        }

        private static boolean same(List<QueueEvent> sent, List<QueueEvent> batch) {
            if (sent.size() != batch.size()) return false;
            for (int i = 0; i < sent.size(); i++) if (sent.get(i) != batch.get(i)) return false;
            return true;
        }

        private TextMessage message(QueueEvent e) throws JMSException {
            TextMessage m = session.createTextMessage(e.json());
            // ce_* straight on the core message with names made once: JMS' setStringProperty builds and checks the
            // name on every call (15 % of the routing thread in a profile); JMSXGroupID stays on JMS, which maps it
            Message core = ((ActiveMQMessage) m).getCoreMessage();
            for (Map.Entry<String, String> attribute : e.attributes().entrySet()) core.putStringProperty(propertyName(attribute.getKey()), attribute.getValue());
            if (!e.subject().isEmpty()) m.setStringProperty("JMSXGroupID", e.subject());
            return m;
        }

        private void connect() throws JMSException {
            if (session == null) {
                // bin/pgrouter routes test: a connection whose producer hands each message to the capture
                Connection c = io.pgrouter.delivery.DryRun.on() ? CapturedMessages.connection() : factory.createConnection();
                try {
                    session = c.createSession(true, Session.SESSION_TRANSACTED);
                } catch (JMSException | JMSRuntimeException e) {
                    c.close();
                    throw e;
                }
                connection = c;
            }
            if (producer == null) {
                // a client-side destination: Session.createQueue would look the queue up and fall back to a 1.x "jms.queue." name
                producer = session.createProducer("topic".equals(config.getDestinationType()) ? ActiveMQJMSClient.createTopic(config.getDestination())
                        : ActiveMQJMSClient.createQueue(config.getDestination()));
                producer.setDeliveryMode(config.isPersistent() ? DeliveryMode.PERSISTENT : DeliveryMode.NON_PERSISTENT);
            }
        }

        private void rollback() {
            try {
                if (session != null) session.rollback();
            } catch (JMSException | JMSRuntimeException e) {
                close();
            }
        }

        void close() {
            early = new ArrayList<>();
            earlyFailed = false;
            held = false;
            Connection c = connection;
            connection = null;
            session = null;
            producer = null;
            if (c == null) return;
            try {
                c.close();
            } catch (JMSException | JMSRuntimeException e) {
                // the connection is gone already; a new one is opened on the next send
            }
        }
    }

    private static final Map<String, SimpleString> PROPERTY_NAMES = new java.util.concurrent.ConcurrentHashMap<>();

    /** {@code ce_<attribute>} as Artemis keeps it; attribute names are a small fixed set (CloudEvents and pg* extensions). */
    static SimpleString propertyName(String attribute) {
        return PROPERTY_NAMES.computeIfAbsent(attribute, a -> SimpleString.of("ce_" + a));
    }

    /** Refused for good: an address that does not exist and may not be created, no permission, a malformed message. */
    static boolean permanent(Throwable failure) {
        for (Throwable t = failure; t != null; t = next(t)) {
            if (t instanceof InvalidDestinationException || t instanceof InvalidDestinationRuntimeException || t instanceof JMSSecurityException
                    || t instanceof JMSSecurityRuntimeException || t instanceof MessageFormatException || t instanceof MessageFormatRuntimeException) {
                return true;
            }
            if (t instanceof ActiveMQException a) {
                switch (a.getType()) {
                    case QUEUE_DOES_NOT_EXIST, ADDRESS_DOES_NOT_EXIST, SECURITY_EXCEPTION, UNEXPECTED_ROUTING_TYPE_FOR_ADDRESS,
                            INVALID_QUEUE_CONFIGURATION, LARGE_MESSAGE_ERROR_BODY:
                        return true;
                    default:
                        return false;
                }
            }
        }
        return false;
    }

    private static Throwable next(Throwable t) {
        Throwable next = t instanceof JMSException j && j.getLinkedException() != null ? j.getLinkedException() : t.getCause();
        return next == t ? null : next;
    }

    private SinkDeliveryException failure(Exception e, boolean retryable) {
        String message = config.where() + (retryable ? " failed: " : " refused the message: ") + e;
        return new SinkDeliveryException(JmsConfig.SINK, message, null, e.getMessage(), 1, retryable, null, e);
    }
}
