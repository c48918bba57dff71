package io.pgrouter.sink.webhook;

import jakarta.enterprise.context.ApplicationScoped;

import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * Webhook endpoints disabled by a 410 Gone answer, in readiness data and as a gauge. The router stays UP: the
 * rest of its routes work, and these events are kept as dead letters.
 */
@Readiness
@ApplicationScoped
public class WebhookHealthCheck implements HealthCheck {

    private final WebhookReceivers webhooks;

    public WebhookHealthCheck(WebhookReceivers webhooks, MeterRegistry metrics) {
        this.webhooks = webhooks;
        Gauge.builder("pgrouter.webhook.disabled.endpoints", webhooks, w -> w.disabledUrls().size())
                .description("webhook endpoints disabled by 410 Gone until re-enabled (bin/pgrouter webhooks enable)").register(metrics);
    }

    @Override
    public HealthCheckResponse call() {
        return HealthCheckResponse.named("pgrouter-webhooks").up()
                .withData("disabled", webhooks.disabledUrls().isEmpty() ? "none" : String.join(", ", webhooks.disabledUrls()))
                .build();
    }
}
