package io.pgrouter.sink.kafka;

import jakarta.inject.Named;
import jakarta.inject.Singleton;

import io.pgrouter.sink.queue.QueueSinkComponent;
import io.pgrouter.sink.queue.QueueSinkEndpoint;
import io.quarkus.arc.Unremovable;

/**
 * {@code pgkafka:<name>?brokers=...&topic=pg.${schema}.${table}}: the producer behind
 * {@code kamelets/kafka-sink.kamelet.yaml}. Not camel-kafka: its producer completes each exchange on that record's own
 * acknowledgement, so sends could not stay in flight until the end of the source batch, nor failures be split
 * between the retry store and dead letters.
 */
@Singleton
@Named("pgkafka")
@Unremovable
public class KafkaSinkComponent extends QueueSinkComponent {

    @Override
    protected QueueSinkEndpoint newEndpoint(String uri) {
        return new KafkaSinkEndpoint(uri, this);
    }
}
