package io.pgrouter.sink.queue;

import java.util.ArrayList;
import java.util.List;

import io.pgrouter.delivery.RoutedEvent;
import io.pgrouter.delivery.Sink;
import io.pgrouter.delivery.SinkContext;
import io.pgrouter.delivery.SinkDeliveryException;
import io.pgrouter.delivery.SourceBuffers;

/**
 * What the JMS and Kafka sinks share: a buffer of admitted events per source, sent as one batch when it is full or
 * when that source's batch ends, and the retry worker's way back in ({@link #redeliver}) over a connection of its own.
 * A subclass says how one attempt sends a batch.
 */
public abstract class QueueSink implements Sink {

    private final QueueConfig config;
    private final QueueDelivery delivery;
    /** Admitted events per source, sent as one batch at that source's batch end. */
    private final SourceBuffers<List<QueueEvent>> buffers = new SourceBuffers<>(ArrayList::new);
    private final Object redeliveryLock = new Object();

    protected QueueSink(QueueConfig config, SinkContext context) {
        this.config = config;
        this.delivery = new QueueDelivery(context.delivery());
    }

    /** One attempt at a batch (see {@link QueueDelivery.Sender}). Called under this sink's lock. */
    protected abstract void send(QueueDelivery.Batch batch) throws SinkDeliveryException, InterruptedException;

    /** The same for the retry worker: its own connection, called under a lock of its own, never the sink's. */
    protected abstract void sendRedelivery(QueueDelivery.Batch batch) throws SinkDeliveryException, InterruptedException;

    /** An admitted event was buffered: a sink that sends at once (Kafka) starts here. Called under this sink's lock. */
    protected void buffered(QueueEvent event) {
    }

    /** Releases every connection. */
    protected abstract void disconnect();

    /** Takes one event from a route: buffered for the next batch, or parked behind its subject or while the broker is down. */
    @Override
    public synchronized void accept(RoutedEvent routed) throws Exception {
        // with the body as the source made it, the event itself says what its JSON holds
        QueueEvent event = QueueEvent.of(routed.json(), routed.routeId(), config.sink(), routed.unchanged());
        if (!delivery.admit(event)) return;
        List<QueueEvent> buffered = buffers.mine();
        buffered.add(event);
        buffered(event);
        if (buffered.size() >= config.getBatchSize()) flush(true);
    }

    /**
     * Sends what the calling source buffered; returns once every event is delivered, dead-lettered or in the retry
     * store. When that cannot be (the stores are unavailable too) the batch is held again and this throws, so the
     * source keeps its position before those events.
     */
    @Override
    public synchronized long flush(boolean everything) throws Exception {
        buffers.discardEnded(List::clear);
        List<QueueEvent> buffered = buffers.mineIfAny();
        if (buffered == null || buffered.isEmpty()) return Long.MAX_VALUE;
        List<QueueEvent> batch = List.copyOf(buffered);
        buffered.clear();
        try {
            delivery.deliver(batch, this::send);
        } catch (Exception e) {
            buffered.addAll(0, batch);
            throw e;
        }
        return Long.MAX_VALUE;
    }

    /**
     * The retry worker's attempts go over their own connection ({@link #sendRedelivery}), never under the lock the
     * stream takes: a probe of a stopped broker may wait for its timeout while the stream moves on.
     */
    @Override
    public void redeliver(String eventJson) throws SinkDeliveryException, InterruptedException {
        delivery.redeliver(QueueEvent.of(eventJson, null, config.sink()), batch -> {
            synchronized (redeliveryLock) {
                sendRedelivery(batch);
            }
        });
    }

    /** The retry worker hands over a backlog in batches too: one transaction or round of sends per batch. */
    @Override
    public int redeliveryBatch() {
        return Math.min(config.getBatchSize(), io.pgrouter.delivery.DurableDelivery.REDELIVERY_BATCH);
    }

    @Override
    public List<SinkDeliveryException> redeliverAll(List<String> jsons) throws InterruptedException {
        return delivery.redeliverAll(jsons, json -> QueueEvent.of(json, null, config.sink()), batch -> {
            synchronized (redeliveryLock) {
                sendRedelivery(batch);
            }
        });
    }

    @Override
    public void close() {
        synchronized (this) {
            synchronized (redeliveryLock) {
                disconnect();
            }
        }
    }
}
