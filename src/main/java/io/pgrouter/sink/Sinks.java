package io.pgrouter.sink;

import jakarta.enterprise.inject.Produces;
import jakarta.inject.Named;
import jakarta.inject.Singleton;

import io.pgrouter.delivery.DeliveryContract;
import io.pgrouter.delivery.SinkComponent;
import io.pgrouter.delivery.SinkType;
import io.pgrouter.sink.datalake.DatalakeConfig;
import io.pgrouter.sink.datalake.DatalakeSink;
import io.pgrouter.sink.durable.DurableConfig;
import io.pgrouter.sink.durable.DurableSink;
import io.pgrouter.sink.email.EmailConfig;
import io.pgrouter.sink.email.EmailSink;
import io.pgrouter.sink.jms.JmsConfig;
import io.pgrouter.sink.jms.JmsSink;
import io.pgrouter.sink.kafka.KafkaConfig;
import io.pgrouter.sink.kafka.KafkaSink;
import io.pgrouter.sink.rabbitmq.RabbitMqConfig;
import io.pgrouter.sink.rabbitmq.RabbitMqSink;
import io.pgrouter.sink.search.SearchConfig;
import io.pgrouter.sink.search.SearchSink;
import io.pgrouter.sink.webhook.WebhookConfig;
import io.pgrouter.sink.webhook.WebhookSink;
import io.quarkus.arc.Unremovable;

/**
 * Every sink that needs Java, by the Camel component name its Kamelet sends to: one {@link SinkComponent} each, made
 * of the sink's class and its configuration. A new sink is a {@code Sink} class, a {@code SinkConfig} class and one
 * method here.
 */
@Singleton
public class Sinks {

    @Produces
    @Singleton
    @Named("pgwebhook")
    @Unremovable
    SinkComponent<WebhookConfig> webhook(DeliveryContract contract) {
        return new SinkComponent<>(new SinkType<>("webhook", WebhookConfig::new, WebhookSink::new), contract);
    }

    @Produces
    @Singleton
    @Named("pgjms")
    @Unremovable
    SinkComponent<JmsConfig> jms(DeliveryContract contract) {
        return new SinkComponent<>(new SinkType<>("jms", JmsConfig::new, JmsSink::new), contract);
    }

    @Produces
    @Singleton
    @Named("pgkafka")
    @Unremovable
    SinkComponent<KafkaConfig> kafka(DeliveryContract contract) {
        return new SinkComponent<>(new SinkType<>("kafka", KafkaConfig::new, KafkaSink::new), contract);
    }

    @Produces
    @Singleton
    @Named("pgrabbitmq")
    @Unremovable
    SinkComponent<RabbitMqConfig> rabbitMq(DeliveryContract contract) {
        return new SinkComponent<>(new SinkType<>("rabbitmq", RabbitMqConfig::new, RabbitMqSink::new), contract);
    }

    @Produces
    @Singleton
    @Named("pgsearch")
    @Unremovable
    SinkComponent<SearchConfig> search(DeliveryContract contract) {
        return new SinkComponent<>(new SinkType<>("search", SearchConfig::new, SearchSink::new), contract);
    }

    @Produces
    @Singleton
    @Named("pglake")
    @Unremovable
    SinkComponent<DatalakeConfig> datalake(DeliveryContract contract) {
        return new SinkComponent<>(new SinkType<>("datalake", DatalakeConfig::new, DatalakeSink::new), contract);
    }

    @Produces
    @Singleton
    @Named("pgemail")
    @Unremovable
    SinkComponent<EmailConfig> email(DeliveryContract contract) {
        return new SinkComponent<>(new SinkType<>("email", EmailConfig::new, EmailSink::new), contract);
    }

    @Produces
    @Singleton
    @Named("pgdurable")
    @Unremovable
    SinkComponent<DurableConfig> durable(DeliveryContract contract) {
        return new SinkComponent<>(new SinkType<>("durablesink", DurableConfig::new, DurableSink::new), contract);
    }
}
