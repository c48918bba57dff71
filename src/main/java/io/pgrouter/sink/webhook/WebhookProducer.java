package io.pgrouter.sink.webhook;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

import org.apache.camel.Exchange;
import org.apache.camel.support.DefaultProducer;
import org.jboss.logging.Logger;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.pgrouter.event.CanonicalEvent;
import io.pgrouter.sink.SinkDeliveryException;

/**
 * Delivers one CloudEvent: 2xx is success; 410 disables the endpoint; 408, 429, 5xx, timeouts and connection
 * errors are retried in-line with exponential backoff and jitter (Retry-After honoured on 429/503); any other
 * answer, or an exhausted budget, fails with a {@link SinkDeliveryException} and the router dead-letters the event.
 */
class WebhookProducer extends DefaultProducer {

    private static final Logger LOG = Logger.getLogger(WebhookProducer.class);
    static final String SINK = "webhook-sink";

    private final WebhookEndpoint endpoint;
    private final URI uri;
    private final String where;

    WebhookProducer(WebhookEndpoint endpoint) {
        super(endpoint);
        this.endpoint = endpoint;
        this.uri = URI.create(endpoint.getUrl());
        // error messages name the receiver without its query string, which may carry a token
        this.where = uri.getScheme() + "://" + uri.getAuthority() + (uri.getPath() == null ? "" : uri.getPath());
    }

    @Override
    public void process(Exchange exchange) throws Exception {
        if (endpoint.getComponent().isDisabled(endpoint.getUrl())) {
            throw new SinkDeliveryException(SINK, where + " is disabled: it answered 410 Gone (restart the router to re-enable it)", 410, null, 0, null);
        }
        String json = exchange.getMessage().getBody(String.class);
        String id = exchange.getMessage().getHeader("ceId", exchange.getExchangeId(), String.class);
        HttpRequest.Builder template = HttpRequest.newBuilder(uri).timeout(Duration.ofMillis(endpoint.getTimeoutMs()));
        byte[] body;
        if ("binary".equals(endpoint.getMode())) {
            ObjectNode event = (ObjectNode) CanonicalEvent.JSON.readTree(json);
            JsonNode data = event.remove("data");
            event.remove("datacontenttype");
            for (Iterator<Map.Entry<String, JsonNode>> it = event.fields(); it.hasNext();) {
                Map.Entry<String, JsonNode> attribute = it.next();
                template.header("ce-" + attribute.getKey(), attribute.getValue().asText());
            }
            template.header("Content-Type", "application/json");
            body = CanonicalEvent.JSON.writeValueAsBytes(data);
        } else {
            template.header("Content-Type", "application/cloudevents+json; charset=UTF-8");
            body = json.getBytes(StandardCharsets.UTF_8);
        }
        endpoint.extraHeaders().forEach(template::header);
        template.header("webhook-id", id);

        Integer lastStatus = null;
        String lastAnswer = null;
        int attempts = endpoint.getRetries() + 1;
        for (int attempt = 1; attempt <= attempts; attempt++) {
            long timestamp = Instant.now().getEpochSecond();
            HttpRequest.Builder request = template.copy().POST(HttpRequest.BodyPublishers.ofByteArray(body))
                    .header("webhook-timestamp", Long.toString(timestamp));
            if (endpoint.signer().signs()) request.header("webhook-signature", endpoint.signer().signature(id, timestamp, body));
            long delayMs;
            try {
                HttpResponse<String> response = endpoint.client().send(request.build(), HttpResponse.BodyHandlers.ofString());
                int status = response.statusCode();
                if (status / 100 == 2) return;
                lastStatus = status;
                lastAnswer = excerpt(response.body());
                if (status == 410) {
                    endpoint.getComponent().disable(endpoint.getUrl());
                    LOG.errorf("webhook %s answered 410 Gone: disabled, its events go to dead letters until the router restarts", where);
                    throw new SinkDeliveryException(SINK, where + " answered 410 Gone: endpoint disabled", status, lastAnswer, attempt, null);
                }
                if (status != 408 && status != 429 && status < 500) {
                    throw new SinkDeliveryException(SINK, where + " answered " + status + " (not retried)", status, lastAnswer, attempt, null);
                }
                Long retryAfter = status == 429 || status == 503 ? retryAfterMs(response) : null;
                delayMs = retryAfter != null ? retryAfter : backoffMs(attempt);
            } catch (IOException e) {
                lastStatus = null;
                lastAnswer = e.toString();
                delayMs = backoffMs(attempt);
            }
            if (attempt == attempts) break;
            if (delayMs > endpoint.getMaxRetryAfterMs()) {
                throw new SinkDeliveryException(SINK, where + " asked to wait " + delayMs + " ms, longer than maxRetryAfterMs", lastStatus, lastAnswer,
                        attempt, null);
            }
            LOG.debugf("webhook %s attempt %d for %s failed (%s); retrying in %d ms", where, attempt, id, lastStatus == null ? lastAnswer : lastStatus, delayMs);
            Thread.sleep(delayMs);
        }
        throw new SinkDeliveryException(SINK, where + " failed " + attempts + " attempts; last: " + (lastStatus == null ? lastAnswer : "status " + lastStatus),
                lastStatus, lastAnswer, attempts, null);
    }

    /** Exponential backoff with jitter: between half and all of backoffMs * 2^(attempt-1). */
    long backoffMs(int attempt) {
        long ceiling = endpoint.getBackoffMs() << Math.min(attempt - 1, 20);
        return ceiling / 2 + ThreadLocalRandom.current().nextLong(ceiling / 2 + 1);
    }

    /** Retry-After as seconds or an HTTP date; null when absent or unreadable. */
    static Long retryAfterMs(HttpResponse<?> response) {
        String value = response.headers().firstValue("Retry-After").orElse(null);
        if (value == null) return null;
        try {
            return Math.max(0, Long.parseLong(value.trim()) * 1000);
        } catch (NumberFormatException notSeconds) {
            try {
                return Math.max(0, Duration.between(Instant.now(), ZonedDateTime.parse(value.trim(), DateTimeFormatter.RFC_1123_DATE_TIME)).toMillis());
            } catch (RuntimeException notADate) {
                return null;
            }
        }
    }

    private static String excerpt(String body) {
        if (body == null) return null;
        return body.length() > 500 ? body.substring(0, 500) + "..." : body;
    }
}
