package io.pgrouter.sink.jms;

import jakarta.inject.Named;
import jakarta.inject.Singleton;

import io.pgrouter.sink.queue.QueueSinkComponent;
import io.pgrouter.sink.queue.QueueSinkEndpoint;
import io.quarkus.arc.Unremovable;

/**
 * {@code pgjms:<name>?brokerUrl=...&destination=...&destinationType=queue|topic}: the producer behind
 * {@code kamelets/jms-sink.kamelet.yaml}. Not camel-jms: its JmsTemplate commits a transacted session after every
 * send, so the end of a source batch could not be the commit point, and it cannot tell the retry store from dead letters.
 */
@Singleton
@Named("pgjms")
@Unremovable
public class JmsSinkComponent extends QueueSinkComponent {

    @Override
    protected QueueSinkEndpoint newEndpoint(String uri) {
        return new JmsSinkEndpoint(uri, this);
    }
}
