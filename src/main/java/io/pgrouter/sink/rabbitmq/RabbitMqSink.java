package io.pgrouter.sink.rabbitmq;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.jboss.logging.Logger;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ShutdownSignalException;

import io.pgrouter.event.CanonicalEvent;
import io.pgrouter.delivery.DeliveryBatch;
import io.pgrouter.delivery.DurableDelivery;
import io.pgrouter.delivery.RoutedEvent;
import io.pgrouter.delivery.Sink;
import io.pgrouter.delivery.SinkContext;
import io.pgrouter.delivery.SinkEvent;
import io.pgrouter.delivery.SinkDeliveryException;
import io.pgrouter.delivery.SourceBuffers;

/**
 * Publishes each event as a persistent message (body = the CloudEvent, {@code ce_*} headers, message id = event id)
 * without waiting, and at the end of the source batch waits for the broker's confirms. Outcomes: ack is delivered;
 * a returned message (no queue bound, with {@code mandatory}), a missing exchange or a message over the broker's
 * {@code max_message_size} go to dead letters with the broker's reason; a nack, a closed connection or a confirm
 * timeout is retried — in-line, then from the durable retry store — re-publishing a failed event's later events of
 * the same subject after it, so a subject's last message is its newest (duplicates carry the same message id).
 */
public class RabbitMqSink implements Sink {

    private static final Logger LOG = Logger.getLogger(RabbitMqSink.class);
    private static final String SINK = RabbitMqConfig.SINK;
    static final String CONTENT_TYPE = "application/cloudevents+json";
    private static final Pattern MAX_SIZE = Pattern.compile("larger than configured max size (\\d+)");
    private static final Pattern NO_EXCHANGE = Pattern.compile("no exchange '([^']*)'");

    /** One event ready to publish. */
    record Outgoing(String json, String subject, String routeId, String id, String exchange, String routingKey, AMQP.BasicProperties properties,
            byte[] body) implements SinkEvent {
    }

    private final RabbitMqConfig config;
    private final DurableDelivery delivery;
    private Connection connection;
    /** The reason the broker gave when it blocked the connection's publishers (connection.blocked), or null. */
    private volatile String blockedBy;

    /** One source's state, guarded by this producer: the events of its current batch and the channel they went out on. */
    private static final class Stream {
        final List<ConfirmedChannel.Sent> batch = new ArrayList<>();
        final List<Outgoing> unsent = new ArrayList<>();
        ConfirmedChannel channel;
        SinkDeliveryException unreachable;
    }

    private final SourceBuffers<Stream> streams = new SourceBuffers<>(Stream::new);

    // exchanges checked (or declared) on the current connection; the broker's message size limit once it told us
    private final Set<String> knownExchanges = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private volatile long brokerMaxBytes = Long.MAX_VALUE;

    // the retry worker's channel, apart from the stream's so a redelivery never waits for a batch
    private final Object retryLock = new Object();
    private ConfirmedChannel retryChannel;

    public RabbitMqSink(RabbitMqConfig config, SinkContext context) {
        this.config = config;
        this.delivery = context.delivery();
    }

    /** The open connection, or a new one; throws a retryable failure when the broker cannot be reached. */
    private synchronized Connection connection() throws SinkDeliveryException {
        if (connection != null && connection.isOpen()) {
            // a connection the broker blocks answers nothing (no channel opens, no exchange check): not worth a call
            String blocked = blockedBy;
            if (blocked != null) throw retryable(ConfirmedChannel.blocking(blocked), null);
            return connection;
        }
        try {
            // bin/pgrouter routes test: a connection whose channels hand each message to the capture and confirm it
            Connection c = io.pgrouter.delivery.DryRun.on() ? CapturedPublishes.connection() : config.factory().newConnection("pg-event-router");
            blockedBy = null;
            // a disk or memory alarm: the broker stops reading what this connection publishes until it clears
            c.addBlockedListener(reason -> {
                blockedBy = reason == null || reason.isBlank() ? "a resource alarm" : reason;
                LOG.warnf("%s blocks publishing (%s): the events wait in the retry store until it clears the alarm", config.where(), blockedBy);
            }, () -> {
                blockedBy = null;
                LOG.infof("%s takes messages again (alarm cleared)", config.where());
            });
            connection = c;
            return connection;
        } catch (Exception e) {
            throw new SinkDeliveryException(SINK, config.where() + ": cannot connect: " + e, null, String.valueOf(e.getMessage()), 1, true, null, null);
        }
    }

    private synchronized void closeConnection() {
        if (connection == null) return;
        try {
            if (connection.isOpen()) connection.close(2000);
        } catch (Exception e) {
            // already closed by the broker or the network
        }
        connection = null;
    }

    @Override
    public void accept(RoutedEvent event) throws Exception {
        String json = event.json();
        String subject = event.subject();
        String routeId = event.routeId();
        synchronized (this) {
            if (!delivery.admit(json, subject, routeId)) return;
            Outgoing m = prepare(json, subject, routeId);
            Stream stream = streams.mine();
            if (stream.unreachable != null) {
                // the broker did not answer earlier in this batch: the end of the batch tries again, once
                stream.unsent.add(m);
                return;
            }
            try {
                checkDestination(m); // a permanent failure throws: the dispatcher dead-letters the event
                stream.batch.add(channel(stream).publish(m));
            } catch (SinkDeliveryException e) {
                if (!e.retryable()) throw e;
                stream.unreachable = e;
                stream.unsent.add(m);
            } catch (IOException | ShutdownSignalException e) {
                stream.unreachable = retryable("publishing failed: " + e, null);
                stream.unsent.add(m);
            }
        }
    }

    /**
     * The end of the calling source's batch: waits for the confirms; the shared contract
     * ({@link DurableDelivery#deliverBatch}) dead-letters what the broker refused for good, retries the rest in-line
     * with backoff and then parks it in the retry store (or dead-letters it without a budget). When an event can be
     * neither confirmed, stored for a retry nor dead-lettered, the batch's events are held again (published anew at
     * the next batch end) and this throws: the source keeps its position before them.
     */
    @Override
    public synchronized long flush(boolean everything) throws Exception {
        streams.discardEnded(this::close);
        Stream stream = streams.mineIfAny();
        if (stream == null || (stream.batch.isEmpty() && stream.unsent.isEmpty())) return Long.MAX_VALUE;
        List<ConfirmedChannel.Sent> sent = List.copyOf(stream.batch);
        List<Outgoing> notSent = List.copyOf(stream.unsent);
        SinkDeliveryException unreachableBy = stream.unreachable;
        stream.batch.clear();
        stream.unsent.clear();
        stream.unreachable = null;
        // once the broker failed during the batch nothing more was sent: the unsent events come after the sent ones
        List<Outgoing> all = new ArrayList<>();
        sent.forEach(s -> all.add(s.message));
        all.addAll(notSent);
        boolean[] published = {true};
        try {
            delivery.deliverBatch(new DeliveryBatch<>(all), batch -> {
                Outcome outcome;
                List<Outgoing> alsoFailed = List.of();
                if (published[0]) {
                    // the publishing during the batch was the first attempt: now its confirms
                    published[0] = false;
                    outcome = settle(sent);
                    alsoFailed = notSent;
                } else {
                    outcome = settle(republish(stream, batch));
                }
                outcome.refused().forEach(batch::reject);
                batch.onlyLeft(following(batch.remaining(), outcome.retry(), alsoFailed));
                if (batch.remaining().isEmpty()) return;
                throw outcome.lastRetryable() != null ? outcome.lastRetryable()
                        : unreachableBy != null ? unreachableBy : retryable("not confirmed", null);
            });
        } catch (Exception e) {
            stream.unsent.addAll(0, all);
            stream.unreachable = retryable("the previous batch end failed: " + e.getMessage(), null);
            throw e;
        }
        return Long.MAX_VALUE;
    }

    /** The broker's answers for some published events: what to try again, what it refused for good and why. */
    private record Outcome(List<Outgoing> retry, Map<Outgoing, SinkDeliveryException> refused, SinkDeliveryException lastRetryable) {
    }

    /** The events to try again: each failed one, and after it every later event of the same subjects (their order). */
    private static List<Outgoing> following(List<Outgoing> all, List<Outgoing> failed, List<Outgoing> alsoFailed) {
        Set<Outgoing> failing = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        failing.addAll(failed);
        failing.addAll(alsoFailed);
        Set<String> subjects = new HashSet<>();
        List<Outgoing> retry = new ArrayList<>();
        for (Outgoing m : all) {
            boolean f = failing.contains(m);
            if (f) subjects.add(m.subject());
            if (f || (!m.subject().isEmpty() && subjects.contains(m.subject()))) retry.add(m);
        }
        return retry;
    }

    /** Publishes what is left of the batch again, in order, on an open channel (a new connection if need be). */
    private List<ConfirmedChannel.Sent> republish(Stream stream, DeliveryBatch<Outgoing> batch) throws SinkDeliveryException {
        List<ConfirmedChannel.Sent> sent = new ArrayList<>();
        try {
            for (Outgoing m : batch.remaining()) {
                try {
                    checkDestination(m);
                } catch (SinkDeliveryException e) {
                    if (e.retryable()) throw e;
                    batch.reject(m, e);
                    continue;
                }
                sent.add(channel(stream).publish(m));
            }
        } catch (IOException | ShutdownSignalException e) {
            close(stream);
            throw retryable("publishing failed: " + e, null);
        }
        return sent;
    }

    /** Why a channel closed, as far as it tells which messages the broker refused for good. */
    private record Closure(ShutdownSignalException cause, Integer code, String text, Long maxSize, String missingExchange) {
    }

    private Closure closure(ConfirmedChannel on) {
        ShutdownSignalException closed = on.closedBy();
        Integer code = ConfirmedChannel.replyCode(closed);
        String text = ConfirmedChannel.replyText(closed);
        Long maxSize = null;
        String missingExchange = null;
        Matcher m = text == null ? null : MAX_SIZE.matcher(text);
        if (code != null && code == 406 && m.find()) {
            maxSize = Long.parseLong(m.group(1));
            brokerMaxBytes = maxSize;
        }
        m = text == null ? null : NO_EXCHANGE.matcher(text);
        if (code != null && code == 404 && m.find()) {
            missingExchange = m.group(1);
            knownExchanges.remove(missingExchange);
        }
        return new Closure(closed, code, text, maxSize, missingExchange);
    }

    /**
     * Waits for the broker's answers on the channels the events went out on: acked is done; returned (unroutable),
     * a missing exchange or a message over the broker's size limit is refused for good; nacked or unanswered
     * (channel closed, confirm timeout) is worth another try.
     */
    private Outcome settle(List<ConfirmedChannel.Sent> sent) throws InterruptedException {
        List<Outgoing> retry = new ArrayList<>();
        Map<Outgoing, SinkDeliveryException> refused = new java.util.LinkedHashMap<>();
        long deadline = System.nanoTime() + config.getConfirmTimeoutMs() * 1_000_000L;
        Map<ConfirmedChannel, Closure> closures = new java.util.IdentityHashMap<>();
        for (ConfirmedChannel.Sent s : sent) {
            if (!closures.containsKey(s.channel)) {
                s.channel.await(deadline);
                closures.put(s.channel, closure(s.channel));
            }
        }
        SinkDeliveryException lastRetryable = null;
        for (ConfirmedChannel.Sent s : sent) {
            Outgoing m = s.message;
            Closure c = closures.get(s.channel);
            if (s.acked && s.returned != null) {
                refused.put(m, new SinkDeliveryException(SINK, config.where() + ": no queue bound to exchange '" + m.exchange() + "' for routing key '"
                        + m.routingKey() + "' (" + s.returned.getReplyCode() + " " + s.returned.getReplyText() + ")", s.returned.getReplyCode(),
                        s.returned.getReplyText(), 1, null));
            } else if (s.acked) {
                continue;
            } else if (s.nacked) {
                lastRetryable = retryable("the broker nacked the message (it could not take it)", null);
                retry.add(m);
            } else if (c.maxSize() != null && m.body().length > c.maxSize()) {
                refused.put(m, tooLarge(m, c.maxSize(), c.code(), c.text()));
            } else if (c.missingExchange() != null && c.missingExchange().equals(m.exchange())) {
                refused.put(m, new SinkDeliveryException(SINK, config.where() + ": exchange '" + m.exchange() + "' does not exist (" + c.code() + " "
                        + c.text() + ")", c.code(), c.text(), 1, null));
            } else {
                String blocked = s.channel.blockedBy();
                lastRetryable = c.cause() != null ? retryable("channel closed: " + (c.text() != null ? c.text() : c.cause().toString()), c.code())
                        : blocked != null ? retryable(ConfirmedChannel.blocking(blocked), null)
                        : retryable("no confirm within " + config.getConfirmTimeoutMs() + " ms", null);
                retry.add(m);
            }
        }
        // a channel that closed or left messages unanswered is not used again
        closures.forEach((on, c) -> {
            if (c.cause() != null || !retry.isEmpty()) on.close();
        });
        return new Outcome(retry, refused, lastRetryable);
    }

    private SinkDeliveryException tooLarge(Outgoing m, long maxSize, Integer code, String text) {
        return new SinkDeliveryException(SINK, config.where() + ": message of " + m.body().length + " bytes is larger than the broker's max_message_size "
                + maxSize + (text == null ? "" : " (" + code + " " + text + ")"), code, text, 1, null);
    }

    /** One attempt for an event waiting in the retry store: publish, wait for its confirm. */
    @Override
    public void redeliver(String json) throws SinkDeliveryException, InterruptedException {
        Outgoing m = stored(json);
        synchronized (retryLock) {
            delivery.redeliver(new DeliveryBatch<>(List.of(m)), this::retryAttempt);
        }
    }

    /** The retry worker hands over a backlog in batches: published together, their confirms awaited together. */
    @Override
    public int redeliveryBatch() {
        return DurableDelivery.REDELIVERY_BATCH;
    }

    @Override
    public List<SinkDeliveryException> redeliverAll(List<String> jsons) throws InterruptedException {
        return delivery.redeliverAll(jsons, this::stored, DeliveryBatch::new, batch -> {
            synchronized (retryLock) {
                retryAttempt(batch);
            }
        });
    }

    /** The message for an event read back from the retry store. */
    private Outgoing stored(String json) throws SinkDeliveryException {
        try {
            return prepare(json, CanonicalEvent.JSON.readTree(json).path("subject").asText(""), null);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new SinkDeliveryException(SINK, "stored event is not JSON: " + e.getMessage(), null, null, 1, e);
        }
    }

    /**
     * One attempt of the retry worker's, on a channel of its own (never the stream's): publishes what is left of the
     * batch and waits for the confirms; what the broker refused for good is rejected, the rest (and what follows it in
     * its subject) stays to be sent again.
     */
    private void retryAttempt(DeliveryBatch<Outgoing> batch) throws SinkDeliveryException, InterruptedException {
        List<ConfirmedChannel.Sent> sent = new ArrayList<>();
        for (Outgoing m : batch.remaining()) {
            try {
                checkDestination(m);
            } catch (SinkDeliveryException e) {
                if (e.retryable()) throw e;
                batch.reject(m, e);
                continue;
            }
            try {
                if (retryChannel == null || !retryChannel.isOpen()) retryChannel = openChannel();
                sent.add(retryChannel.publish(m));
            } catch (IOException | ShutdownSignalException e) {
                retryChannel = null;
                throw retryable("publishing failed: " + e, null);
            }
        }
        Outcome outcome = settle(sent);
        outcome.refused().forEach(batch::reject);
        batch.onlyLeft(following(batch.remaining(), outcome.retry(), List.of()));
        if (!batch.remaining().isEmpty()) throw outcome.lastRetryable() != null ? outcome.lastRetryable() : retryable("not confirmed", null);
    }

    /** The message for an event: body = the CloudEvent, its attributes as {@code ce_*} headers, persistent. */
    Outgoing prepare(String json, String subject, String routeId) throws SinkDeliveryException {
        ObjectNode event;
        try {
            event = (ObjectNode) CanonicalEvent.JSON.readTree(json);
        } catch (com.fasterxml.jackson.core.JsonProcessingException | ClassCastException e) {
            throw new SinkDeliveryException(SINK, "the event is not a JSON object: " + e.getMessage(), null, null, 1, e);
        }
        String id = event.path("id").asText();
        Map<String, Object> headers = new HashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = event.fields(); it.hasNext();) {
            Map.Entry<String, JsonNode> attribute = it.next();
            if (attribute.getKey().equals("data") || attribute.getKey().equals("datacontenttype")) continue;
            headers.put("ce_" + attribute.getKey(), attribute.getValue().asText());
        }
        AMQP.BasicProperties.Builder props = new AMQP.BasicProperties.Builder().messageId(id).contentType(CONTENT_TYPE).contentEncoding("utf-8")
                .deliveryMode(2).type(event.path("type").asText(null)).appId("pg-event-router").headers(headers);
        if (event.hasNonNull("time")) {
            try {
                props.timestamp(Date.from(Instant.parse(event.get("time").asText())));
            } catch (RuntimeException notATime) {
                // the ce_time header still carries it
            }
        }
        byte[] body = json.getBytes(StandardCharsets.UTF_8);
        String exchange;
        String routingKey;
        try {
            exchange = config.exchangeTemplate().apply(event);
            routingKey = config.routingKeyTemplate().apply(event);
        } catch (io.pgrouter.event.EventTemplate.MissingValue e) {
            throw new SinkDeliveryException(SINK, config.where() + ": " + e.getMessage(), null, null, 1, e);
        }
        Outgoing m = new Outgoing(json, subject, routeId, id, exchange, routingKey, props.build(), body);
        if (body.length > brokerMaxBytes) throw tooLarge(m, brokerMaxBytes, null, null);
        return m;
    }

    /**
     * Declares the exchange (exchangeType set) or checks that it exists, once per name and connection, on a channel
     * of its own: a missing exchange would otherwise close the publishing channel with the batch on it.
     */
    private void checkDestination(Outgoing m) throws SinkDeliveryException {
        String name = m.exchange();
        if (name.isEmpty() || knownExchanges.contains(name)) return;
        com.rabbitmq.client.Connection connection = connection();
        try (Channel check = connection.createChannel()) {
            if (config.getExchangeType().isEmpty()) {
                check.exchangeDeclarePassive(name);
            } else {
                check.exchangeDeclare(name, config.getExchangeType(), true);
            }
            knownExchanges.add(name);
        } catch (IOException | java.util.concurrent.TimeoutException | ShutdownSignalException e) {
            ShutdownSignalException shutdown = e instanceof ShutdownSignalException s ? s
                    : e.getCause() instanceof ShutdownSignalException s ? s : null;
            Integer code = ConfirmedChannel.replyCode(shutdown);
            String text = ConfirmedChannel.replyText(shutdown);
            if (code != null && (code == 404 || code == 406 || code == 403)) {
                throw new SinkDeliveryException(SINK, config.where() + ": exchange '" + name + "' "
                        + (code == 404 ? "does not exist" : code == 406 ? "exists with other settings" : "is not accessible") + " (" + code + " " + text + ")",
                        code, text, 1, null);
            }
            throw retryable("checking exchange '" + name + "' failed: " + e, code);
        }
    }

    /** A source's channel, opened (and the connection with it) when needed. */
    private ConfirmedChannel channel(Stream stream) throws SinkDeliveryException, IOException {
        if (stream.channel == null || !stream.channel.isOpen()) {
            if (stream.channel != null) knownExchanges.clear();
            stream.channel = openChannel();
        }
        return stream.channel;
    }

    /** A confirmed channel on the open connection, publishing while the broker does not block it. */
    private ConfirmedChannel openChannel() throws SinkDeliveryException, IOException {
        return new ConfirmedChannel(connection(), config.isMandatory(), () -> blockedBy, config.getConfirmTimeoutMs());
    }

    private void close(Stream stream) {
        if (stream.channel != null) stream.channel.close();
        stream.channel = null;
    }

    private SinkDeliveryException retryable(String message, Integer code) {
        return new SinkDeliveryException(SINK, config.where() + ": " + message, code, null, 1, true, null, null);
    }

    @Override
    public void close() {
        synchronized (this) {
            streams.forEach(this::close);
            streams.clear();
        }
        synchronized (retryLock) {
            if (retryChannel != null) retryChannel.close();
        }
        closeConnection();
    }
}
