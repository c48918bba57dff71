package io.pgrouter.sink.queue;

import org.apache.camel.CamelContext;

import io.pgrouter.delivery.SinkConfig;

/**
 * What the JMS and Kafka sinks' options share: {@code batchSize}, the most events sent as one batch (a JMS
 * transaction, a Kafka round) before the source's batch end, and the retry defaults of a broker, which is back within seconds or minutes, not hours: fewer,
 * quicker in-line retries (2 from 200 ms; Kafka none, its producer retries itself), at most a minute apart.
 */
public abstract class QueueConfig extends SinkConfig {

    // one commit per source batch (at most 2048 events by default): each commit waits for the broker
    private int batchSize = 10_000;

    protected QueueConfig() {
        setRetries(2);
        setBackoffMs(200);
        setMaxBackoffMs(60_000);
    }

    @Override
    protected final void validate(CamelContext camel) throws Exception {
        if (batchSize < 1) throw new IllegalArgumentException(sink() + " batchSize must be 1 or more, got " + batchSize);
        validateBroker();
    }

    /** Checks the broker's options; throws {@link IllegalArgumentException} naming the wrong one. */
    protected abstract void validateBroker();

    public int getBatchSize() { return batchSize; }
    public void setBatchSize(int batchSize) { this.batchSize = batchSize; }
}
