package io.pgrouter.sink.rabbitmq;

import java.util.Map;

import jakarta.inject.Named;
import jakarta.inject.Singleton;

import org.apache.camel.Endpoint;

import io.pgrouter.delivery.RetryingSinkComponent;
import io.quarkus.arc.Unremovable;

/**
 * {@code pgrabbitmq:<name>?url=amqp://host:5672/vhost&exchange=...&routingKey=${schema}.${table}.${op}}: the producer
 * behind {@code kamelets/rabbitmq-sink.kamelet.yaml}, on the RabbitMQ Java client. Not camel-spring-rabbitmq: its
 * producer waits for each publisher confirm in turn (one round trip per event) and does not report a returned,
 * unroutable message as a failure; here a source batch is published, then confirmed once at its end.
 */
@Singleton
@Named("pgrabbitmq")
@Unremovable
public class RabbitMqComponent extends RetryingSinkComponent {

    @Override
    protected Endpoint createEndpoint(String uri, String remaining, Map<String, Object> parameters) throws Exception {
        return configured(new RabbitMqEndpoint(uri, this), parameters, RabbitMqEndpoint::validate);
    }

}
