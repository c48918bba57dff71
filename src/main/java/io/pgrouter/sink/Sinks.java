package io.pgrouter.sink;

import jakarta.enterprise.inject.Produces;
import jakarta.inject.Named;
import jakarta.inject.Singleton;

import io.pgrouter.delivery.DeliveryContract;
import io.pgrouter.delivery.SinkComponent;
import io.pgrouter.delivery.SinkType;
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
}
