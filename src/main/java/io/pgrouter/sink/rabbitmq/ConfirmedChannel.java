package io.pgrouter.sink.rabbitmq;

import java.io.IOException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;
import java.util.function.Supplier;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.Return;
import com.rabbitmq.client.ShutdownSignalException;

import io.pgrouter.delivery.HeldCalls;

/**
 * A channel in publisher-confirm mode that remembers the broker's answer for each message it published: ack,
 * nack, returned as unroutable (mandatory flag; the return arrives before the ack), or nothing because the channel
 * or connection closed. Publishing does not wait; {@link #await} waits once for a whole source batch.
 */
final class ConfirmedChannel implements AutoCloseable {

    /** A message on its way, and what the broker said about it. */
    static final class Sent {
        final RabbitMqSink.Outgoing message;
        final ConfirmedChannel channel;
        boolean acked;
        boolean nacked;
        Return returned;

        Sent(RabbitMqSink.Outgoing message, ConfirmedChannel channel) {
            this.message = message;
            this.channel = channel;
        }

        boolean settled() {
            return acked || nacked;
        }
    }

    private final Channel channel;
    private final boolean mandatory;
    /** Why the broker blocks the connection's publishers (a disk or memory alarm), or null while it does not. */
    private final Supplier<String> blockedBy;
    /** The longest a publish may wait to be written before the connection is aborted under it. */
    private final long publishLimitMs;
    private final NavigableMap<Long, Sent> unconfirmed = new TreeMap<>();
    private final Map<String, Sent> byMessageId = new HashMap<>();
    private ShutdownSignalException closedBy;

    ConfirmedChannel(Connection connection, boolean mandatory, Supplier<String> blockedBy, long publishLimitMs) throws IOException {
        this.mandatory = mandatory;
        this.blockedBy = blockedBy;
        this.publishLimitMs = publishLimitMs;
        channel = connection.createChannel();
        channel.confirmSelect();
        channel.addConfirmListener((seq, multiple) -> settle(seq, multiple, true), (seq, multiple) -> settle(seq, multiple, false));
        channel.addReturnListener(this::returned);
        channel.addShutdownListener(cause -> {
            synchronized (this) {
                closedBy = cause;
                notifyAll();
            }
        });
    }

    boolean isOpen() {
        return channel.isOpen();
    }

    /** Publishes without waiting; the answer is in the returned {@link Sent} after {@link #await}. */
    Sent publish(RabbitMqSink.Outgoing m) throws IOException {
        // a blocked connection's publish would wait in the socket until the alarm clears, holding up every route
        String blocked = blockedBy.get();
        if (blocked != null) throw new IOException(blocking(blocked));
        Sent sent = new Sent(m, this);
        synchronized (this) {
            unconfirmed.put(channel.getNextPublishSeqNo(), sent);
            byMessageId.put(m.id(), sent);
        }
        // outside the lock: a publish blocked by the broker's flow control must not hold up the confirm callbacks;
        // one the broker stopped reading (an alarm raised before its notice arrived) ends when the connection is aborted
        HeldCalls.Watch watch = HeldCalls.watch(publishLimitMs, () -> {
            Connection c = channel.getConnection();
            if (c != null) c.abort(1000);
        });
        try {
            channel.basicPublish(m.exchange(), m.routingKey(), mandatory, m.properties(), m.body());
        } catch (IOException | RuntimeException e) {
            if (watch.held()) throw held();
            throw e;
        }
        if (watch.held()) throw held();
        return sent;
    }

    /** What a failure says while the broker blocks the connection for {@code reason}. */
    static String blocking(String reason) {
        return "the broker blocks publishing (" + reason + ")";
    }

    private IOException held() {
        return new IOException("the broker held the publish for over " + publishLimitMs + " ms (it stopped reading: a resource alarm)");
    }

    /**
     * Waits until every message published so far is acked or nacked, the channel closed, the broker blocks the
     * connection (no confirm comes while it does), or the deadline passed.
     */
    synchronized void await(long deadlineNanos) throws InterruptedException {
        while (!unconfirmed.isEmpty() && closedBy == null && blockedBy.get() == null) {
            long left = deadlineNanos - System.nanoTime();
            if (left <= 0) return;
            // woken by confirms; the blocked state is looked at every 200 ms
            wait(Math.max(1, Math.min(200, left / 1_000_000)));
        }
    }

    /** Why the broker blocks this channel's connection, or null. */
    String blockedBy() {
        return blockedBy.get();
    }

    /** Why the channel closed (the broker's reply code and text are in its reason), or null while open. */
    synchronized ShutdownSignalException closedBy() {
        return closedBy;
    }

    private synchronized void settle(long seq, boolean multiple, boolean ack) {
        List<Sent> done = multiple ? List.copyOf(unconfirmed.headMap(seq, true).values()) : unconfirmedOne(seq);
        for (Sent s : done) {
            if (ack) s.acked = true; else s.nacked = true;
            byMessageId.remove(s.message.id(), s);
        }
        if (multiple) unconfirmed.headMap(seq, true).clear(); else unconfirmed.remove(seq);
        notifyAll();
    }

    private List<Sent> unconfirmedOne(long seq) {
        Sent s = unconfirmed.get(seq);
        return s == null ? List.of() : List.of(s);
    }

    private synchronized void returned(Return r) {
        Sent s = byMessageId.get(r.getProperties().getMessageId());
        if (s != null) s.returned = r;
    }

    /** The broker's reply code when it closed the channel (404 no exchange, 406 precondition...), or null. */
    static Integer replyCode(ShutdownSignalException e) {
        return e != null && e.getReason() instanceof AMQP.Channel.Close close ? close.getReplyCode() : null;
    }

    static String replyText(ShutdownSignalException e) {
        if (e == null) return null;
        if (e.getReason() instanceof AMQP.Channel.Close close) return close.getReplyText();
        if (e.getReason() instanceof AMQP.Connection.Close close) return close.getReplyText();
        return e.getMessage();
    }

    @Override
    public void close() {
        try {
            if (!channel.isOpen()) return;
            if (blockedBy.get() == null) {
                channel.close();
            } else {
                // the broker does not read a connection it blocks: a channel close would wait for an answer that does not come
                Connection c = channel.getConnection();
                if (c != null) c.abort(100);
            }
        } catch (IOException | java.util.concurrent.TimeoutException | ShutdownSignalException e) {
            // closing a channel the broker or the network already closed
        }
    }
}
