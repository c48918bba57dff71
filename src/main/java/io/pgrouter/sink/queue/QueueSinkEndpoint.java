package io.pgrouter.sink.queue;

import java.util.ArrayList;
import java.util.List;

import org.apache.camel.Consumer;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;
import org.apache.camel.Producer;
import org.apache.camel.support.DefaultProducer;

import io.pgrouter.event.CanonicalEvent;
import io.pgrouter.delivery.Redeliverable;
import io.pgrouter.delivery.RetryingSinkComponent;
import io.pgrouter.delivery.RetryingSinkEndpoint;
import io.pgrouter.delivery.SinkDeliveryException;
import io.pgrouter.delivery.SourceBuffers;
import io.pgrouter.delivery.RoutedExchange;

/**
 * What the JMS and Kafka sink endpoints share: the retry options of the delivery contract, a buffer of admitted
 * events sent as one batch when it is full or when the source batch ends ({@link QueueSinkComponent#flush()}), and
 * the retry worker's way back in ({@link #redeliver}). A subclass says how one attempt sends a batch.
 */
public abstract class QueueSinkEndpoint extends RetryingSinkEndpoint {

    private int batchSize = 1000;

    /** Admitted events per source, sent as one batch at that source's batch end. */
    private final SourceBuffers<List<QueueEvent>> buffers = new SourceBuffers<>(ArrayList::new);
    private QueueDelivery delivery;

    protected QueueSinkEndpoint(String uri, QueueSinkComponent component) {
        super(uri, component);
        // a broker is back within seconds or minutes, not hours: fewer, quicker in-line retries, at most a minute apart
        setRetries(2);
        setBackoffMs(200);
        setMaxBackoffMs(60_000);
    }

    /** The sink's name in dead letters, e.g. {@code jms-sink}. */
    protected abstract String sink();

    /** The destination in logs and errors, without credentials. */
    protected abstract String where();

    /** What identifies the destination in {@link #sinkKey()}: no secret in it. */
    protected abstract String identity();

    /** Checks the options; throws {@link IllegalArgumentException} naming the wrong one. */
    protected abstract void validate();

    /** One attempt at a batch (see {@link QueueDelivery.Sender}). Called under this endpoint's lock. */
    protected abstract void send(QueueDelivery.Batch batch) throws SinkDeliveryException, InterruptedException;

    /** The same for the retry worker: its own connection, called under a lock of its own, never the endpoint's. */
    protected abstract void sendRedelivery(QueueDelivery.Batch batch) throws SinkDeliveryException, InterruptedException;

    /** An admitted event was buffered: a sink that sends at once (Kafka) starts here. Called under this endpoint's lock. */
    protected void buffered(QueueEvent event) {
    }

    /** Releases every connection; the endpoint connects again on its next send. */
    protected abstract void disconnect();

    /** Checks the options and wires the delivery contract (the broker's up/down state is shared by every endpoint sending there). */
    void init(RetryingSinkComponent component) {
        if (batchSize < 1) throw new IllegalArgumentException(sink() + " batchSize must be 1 or more, got " + batchSize);
        validate();
        delivery = new QueueDelivery(component.delivery(sink(), this, where()));
    }

    @Override
    public Producer createProducer() {
        return new DefaultProducer(this) {
            @Override
            public void process(Exchange exchange) throws Exception {
                // with the body as the source made it, the event itself says what its JSON holds
                accept(exchange.getMessage().getBody(String.class), RoutedExchange.routeId(exchange), RoutedExchange.unchangedEvent(exchange));
            }
        };
    }

    @Override
    public Consumer createConsumer(Processor processor) {
        throw new UnsupportedOperationException(getEndpointUri() + " is a sink");
    }

    /** Takes one event from a route: buffered for the next batch, or parked behind its subject or while the broker is down. */
    synchronized void accept(String json, String routeId, CanonicalEvent source) throws Exception {
        QueueEvent event = QueueEvent.of(json, routeId, sink(), source);
        if (!delivery.admit(event)) return;
        List<QueueEvent> buffered = buffers.mine();
        buffered.add(event);
        buffered(event);
        if (buffered.size() >= batchSize) flushSource();
    }

    /**
     * Sends what the calling source buffered; returns once every event is delivered, dead-lettered or in the retry
     * store. When that cannot be (the stores are unavailable too) the batch is held again and this throws, so the
     * source keeps its position before those events.
     */
    @Override
    protected synchronized void flushSource() throws Exception {
        buffers.discardEnded(List::clear);
        List<QueueEvent> buffered = buffers.mineIfAny();
        if (buffered == null || buffered.isEmpty()) return;
        List<QueueEvent> batch = List.copyOf(buffered);
        buffered.clear();
        try {
            delivery.deliver(batch, this::send);
        } catch (Exception e) {
            buffered.addAll(0, batch);
            throw e;
        }
    }

    /**
     * The retry worker's attempts go over their own connection ({@link #sendRedelivery}), never under the lock the
     * stream takes: a probe of a stopped broker may wait for its timeout while the stream moves on.
     */
    @Override
    public void redeliver(String eventJson) throws SinkDeliveryException, InterruptedException {
        delivery.redeliver(QueueEvent.of(eventJson, null, sink()), batch -> {
            synchronized (redeliveryLock) {
                sendRedelivery(batch);
            }
        });
    }

    private final Object redeliveryLock = new Object();

    public boolean isBrokerDown() {
        return delivery != null && delivery.isBrokerDown();
    }

    @Override
    public String sinkKey() {
        return Redeliverable.sinkKey(sink(), identity());
    }

    @Override
    protected void doStop() throws Exception {
        synchronized (this) {
            synchronized (redeliveryLock) {
                disconnect();
            }
        }
        super.doStop();
    }

    public int getBatchSize() { return batchSize; }
    public void setBatchSize(int batchSize) { this.batchSize = batchSize; }
}
