package io.pgrouter.delivery;

import java.util.List;

import org.apache.camel.Consumer;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;
import org.apache.camel.Producer;
import org.apache.camel.support.DefaultEndpoint;
import org.apache.camel.support.DefaultProducer;

/**
 * The one Camel endpoint of every sink ({@code pgwebhook:...}, {@code pgkafka:...}, ...): one checked
 * {@link SinkConfig}, the {@link Sink} made from it while the endpoint runs, and the retry worker's way back in
 * ({@link Redeliverable}).
 */
public final class SinkEndpoint<C extends SinkConfig> extends DefaultEndpoint implements Redeliverable {

    private static final org.jboss.logging.Logger LOG = org.jboss.logging.Logger.getLogger(SinkEndpoint.class);

    private final C config;
    private final SinkType<C> type;
    private final DurableDelivery delivery;
    private volatile Sink sink;

    SinkEndpoint(String uri, SinkComponent<C> component, C config, DurableDelivery delivery) {
        super(uri, component);
        this.config = config;
        this.type = component.type();
        this.delivery = delivery;
    }

    public C config() {
        return config;
    }

    /** The sink, made on first use (a route's start, or the retry worker's first attempt). */
    public Sink sink() throws Exception {
        Sink s = sink;
        if (s != null) return s;
        synchronized (this) {
            if (sink == null) sink = type.factory().create(config, new SinkContext(delivery, getCamelContext()));
            return sink;
        }
    }

    /** Whether the sink's destination is known to be down (a batch or event spent its in-line retries). */
    @Override
    public boolean destinationDown() {
        return delivery != null && delivery.destination().isDown();
    }

    /** The calling source's batch end at this endpoint (see {@link Sink#flush}). */
    long flush(boolean everything) throws Exception {
        Sink s = sink;
        return s == null ? Long.MAX_VALUE : s.flush(everything);
    }

    void sendLingering() {
        Sink s = sink;
        try {
            if (s != null) s.sendLingering();
        } catch (RuntimeException e) {
            // the timer goes on: the owning source's next batch end sends, or fails, what lingers
            LOG.warnf("%s: lingering events not sent yet: %s", config.where(), e.getMessage());
        }
    }

    @Override
    protected void doStart() throws Exception {
        super.doStart();
        // made now: a target that cannot be resolved fails the route's start, naming it, not the first event
        sink();
    }

    @Override
    protected void doStop() throws Exception {
        Sink s;
        synchronized (this) {
            s = sink;
            sink = null;
        }
        if (s != null) s.close();
        super.doStop();
    }

    @Override
    public Producer createProducer() {
        return new DefaultProducer(this) {
            @Override
            public void process(Exchange exchange) throws Exception {
                sink().accept(RoutedEvent.of(exchange));
            }
        };
    }

    @Override
    public Consumer createConsumer(Processor processor) {
        throw new UnsupportedOperationException(getEndpointBaseUri() + " is a sink");
    }

    @Override
    public String sinkKey() {
        return config.sinkKey();
    }

    @Override
    public String formerSinkKey() {
        return config.formerSinkKey();
    }

    @Override
    public void redeliver(String eventJson) throws SinkDeliveryException, InterruptedException {
        usableSink().redeliver(eventJson);
    }

    @Override
    public int redeliveryBatch() {
        try {
            return Math.max(1, usableSink().redeliveryBatch());
        } catch (SinkDeliveryException | InterruptedException e) {
            return 1;
        }
    }

    @Override
    public List<SinkDeliveryException> redeliverAll(List<String> events) throws InterruptedException {
        Sink s;
        try {
            s = usableSink();
        } catch (SinkDeliveryException e) {
            return java.util.Collections.nCopies(events.size(), e);
        }
        return s.redeliveryBatch() > 1 ? s.redeliverAll(events) : Redeliverable.super.redeliverAll(events);
    }

    private Sink usableSink() throws SinkDeliveryException, InterruptedException {
        try {
            return sink();
        } catch (InterruptedException | SinkDeliveryException e) {
            throw e;
        } catch (Exception e) {
            throw new SinkDeliveryException(config.sink(), config.where() + " cannot be used: " + e.getMessage(), null, null, 1, true, null, e);
        }
    }

    @Override
    public DurableDelivery.Policy policy() {
        return config.policy();
    }

    @Override
    public int concurrency() {
        return config.concurrency();
    }
}
