package io.pgrouter.sink.webhook;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

import org.apache.camel.Exchange;
import org.apache.camel.support.DefaultProducer;
import org.apache.hc.client5.http.classic.methods.HttpPost;
import org.apache.hc.core5.http.ClassicHttpResponse;
import org.apache.hc.core5.http.ContentType;
import org.apache.hc.core5.http.Header;
import org.apache.hc.core5.http.io.entity.ByteArrayEntity;
import org.apache.hc.core5.http.io.entity.EntityUtils;
import org.apache.hc.core5.http.message.BasicHeader;
import org.jboss.logging.Logger;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.pgrouter.delivery.RoutedExchange;
import io.pgrouter.event.CanonicalEvent;
import io.pgrouter.delivery.DeliveryBatch;
import io.pgrouter.delivery.DurableDelivery;
import io.pgrouter.delivery.SinkEvent;
import io.pgrouter.delivery.SinkDeliveryException;

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
        this.where = WebhookComponent.plain(endpoint.getUrl());
        this.lanes = endpoint.getConcurrency() > 1 ? endpoint.getComponent().lanes(endpoint.getConcurrency()) : null;
        this.delivery = endpoint.getComponent().delivery(SINK, endpoint, where, "webhook " + where);
    }

    private final DurableDelivery delivery;

    private static final ContentType STRUCTURED = ContentType.create("application/cloudevents+json", StandardCharsets.UTF_8);
    private static final ContentType BATCH = ContentType.create("application/cloudevents-batch+json", StandardCharsets.UTF_8);
    private static final ContentType BINARY = ContentType.create("application/json");

    /** What every attempt of one request sends; {@code headers}: the ce-* headers of binary mode. */
    private record Prepared(ContentType type, List<Header> headers, byte[] body, String id) {
    }

    /** What one attempt got back: the status, an excerpt of the answer and Retry-After when not 2xx. */
    private record Answer(int status, String excerpt, Long retryAfterMs) {
    }

    @Override
    public void process(Exchange exchange) throws Exception {
        Object payload = exchange.getMessage().getBody();
        // the source's body as routes left it: its JSON is built once; anything else through Camel's converters
        String json = payload instanceof io.pgrouter.event.EventBody body ? body.json() : exchange.getMessage().getBody(String.class);
        String subject = exchange.getMessage().getHeader("ceSubject", "", String.class);
        String routeId = RoutedExchange.routeId(exchange);
        String id = exchange.getMessage().getHeader("ceId", String.class);
        if ("batch".equals(endpoint.getMode())) {
            endpoint.buffer(new Batched(json, subject, routeId, id != null ? id : exchange.getExchangeId(),
                    exchange.getProperty(io.pgrouter.delivery.BatchBoundary.SEQUENCE, 0L, Long.class)));
            return;
        }
        if (lanes != null) {
            // checked on the source's thread: an event parked while the destination is down (or behind its subject) is
            // written with the source's batch, not in a transaction of its own from a lane
            if (!delivery.admit(json, subject, routeId)) return;
            lanes.submit(subject, () -> deliverInLane(json, subject, routeId, id));
            return;
        }
        deliver(json, subject, routeId, id);
    }

    /** With concurrency > 1: one lane per subject hash, so a subject's events keep their order; done by batch end. */
    private final WebhookLanes lanes;

    /** Waits until the calling source's events in lanes are delivered or stored (see {@link WebhookLanes#drain()}). */
    void drainLanes() throws Exception {
        if (lanes != null) lanes.drain();
    }

    private void deliverInLane(String json, String subject, String routeId, String id) throws Exception {
        try {
            deliver(json, subject, routeId, id);
        } catch (SinkDeliveryException e) {
            // the route already moved on: the lane dead-letters, and says so, what the dispatcher would have
            LOG.errorf("route %s failed on event %s: %s; writing it to the dead-letter store", routeId, id, e.toString());
            delivery.deadLetter(json, routeId, e);
        } finally {
            delivery.writeParked(); // a lane is no source: what it parked is written now, before the source's batch end
        }
    }

    private void deliver(String json, String subject, String routeId, String id) throws Exception {
        Prepared request = prepare(json, id);
        delivery.deliver(json, subject, routeId, () -> attempt(request));
    }

    /** One event of batched mode, kept until the batch is sent. */
    record Batched(String json, String subject, String routeId, String id, long sequence) implements SinkEvent {
    }

    /**
     * Batched mode: one {@code application/cloudevents-batch+json} request for the events, in order, on the shared
     * contract ({@link DurableDelivery#deliverBatch}). Events of a subject that waits in the retry store join it
     * instead, and so do all while the receiver is down; a permanent failure dead-letters every event of the batch;
     * retryable failures past the in-line budget put each event in the retry store (re-sent one by one).
     */
    void sendBatch(List<Batched> events) throws Exception {
        List<Batched> batch = delivery.admitted(events);
        if (batch.isEmpty()) return;
        StringBuilder body = new StringBuilder("[");
        StringBuilder ids = new StringBuilder();
        for (Batched e : batch) {
            if (body.length() > 1) body.append(',');
            body.append(e.json());
            ids.append(e.id()).append('\n');
        }
        body.append(']');
        byte[] digest = java.security.MessageDigest.getInstance("SHA-256").digest(ids.toString().getBytes(StandardCharsets.UTF_8));
        // the same batch gets the same webhook-id on every attempt
        String id = "batch:" + java.util.HexFormat.of().formatHex(digest, 0, 16);
        Prepared request = new Prepared(BATCH, List.of(), body.toString().getBytes(StandardCharsets.UTF_8), id);
        delivery.deliverBatch(new DeliveryBatch<>(batch), sending -> {
            attempt(request);
            sending.delivered();
        });
    }

    /** One attempt for an event waiting in the retry store. */
    void redeliver(String json) throws SinkDeliveryException, InterruptedException {
        try {
            Prepared request = prepare(json, null);
            delivery.probe(() -> attempt(request));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new SinkDeliveryException(SINK, "stored event is not JSON: " + e.getMessage(), null, null, 1, e);
        }
    }

    /** @param knownId the event's id when the caller has it (the ceId header), else null: read from the event */
    private Prepared prepare(String json, String knownId) throws com.fasterxml.jackson.core.JsonProcessingException {
        String id = knownId;
        if ("binary".equals(endpoint.getMode())) {
            ObjectNode event = (ObjectNode) CanonicalEvent.JSON.readTree(json);
            if (id == null) id = event.path("id").asText(null);
            JsonNode data = event.remove("data");
            event.remove("datacontenttype");
            List<Header> headers = new ArrayList<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = event.fields(); it.hasNext();) {
                Map.Entry<String, JsonNode> attribute = it.next();
                headers.add(new BasicHeader("ce-" + attribute.getKey(), attribute.getValue().asText()));
            }
            return new Prepared(BINARY, headers, CanonicalEvent.JSON.writeValueAsBytes(data), id);
        }
        // structured: the body is the event as the route has it; parsed only when the id is not known
        if (id == null) id = CanonicalEvent.JSON.readTree(json).path("id").asText(null);
        return new Prepared(STRUCTURED, List.of(), json.getBytes(StandardCharsets.UTF_8), id);
    }

    /** One request: returns on 2xx, throws a retryable or permanent {@link SinkDeliveryException} otherwise. */
    private void attempt(Prepared prepared) throws SinkDeliveryException, InterruptedException {
        if (endpoint.getComponent().isDisabled(where)) {
            throw new SinkDeliveryException(SINK, where + " is disabled: it answered 410 Gone (re-enable it with bin/pgrouter webhooks enable)", 410, null, 0, null);
        }
        long timestamp = io.pgrouter.delivery.DryRun.currentTimeMillis() / 1000;
        HttpPost request = new HttpPost(uri);
        for (Header h : prepared.headers()) request.addHeader(h);
        endpoint.extraHeaders().forEach(request::addHeader);
        request.addHeader("webhook-id", prepared.id());
        request.addHeader("webhook-timestamp", Long.toString(timestamp));
        if (endpoint.signer().signs()) request.addHeader("webhook-signature", endpoint.signer().signature(prepared.id(), timestamp, prepared.body()));
        request.setEntity(new ByteArrayEntity(prepared.body(), prepared.type()));
        Answer response;
        try {
            response = endpoint.client().execute(request, WebhookProducer::answer);
        } catch (IOException e) {
            if (Thread.currentThread().isInterrupted()) throw new InterruptedException("interrupted while sending to " + where);
            throw new SinkDeliveryException(SINK, e.toString(), null, e.toString(), 1, true, null, null);
        }
        int status = response.status();
        if (status / 100 == 2) return;
        String answer = response.excerpt();
        if (status == 410) {
            endpoint.getComponent().disable(endpoint.getUrl(), answer);
            LOG.errorf("webhook %s answered 410 Gone: disabled, its events go to dead letters until re-enabled (bin/pgrouter webhooks enable %s)",
                    where, where);
            throw new SinkDeliveryException(SINK, where + " answered 410 Gone: endpoint disabled", status, answer, 1, null);
        }
        if (status != 408 && status != 429 && status < 500) {
            throw new SinkDeliveryException(SINK, where + " answered " + status + " (not retried)", status, answer, 1, null);
        }
        throw new SinkDeliveryException(SINK, "status " + status, status, answer, 1, true, response.retryAfterMs(), null);
    }

    /** Reads a 2xx answer's body only to free the connection; other answers keep an excerpt and Retry-After (429, 503). */
    private static Answer answer(ClassicHttpResponse response) throws IOException {
        int status = response.getCode();
        if (status / 100 == 2) {
            EntityUtils.consume(response.getEntity());
            return new Answer(status, null, null);
        }
        // the answer as text, whatever charset it claims: only an excerpt for dead letters
        String body = response.getEntity() == null ? null : new String(EntityUtils.toByteArray(response.getEntity()), StandardCharsets.UTF_8);
        Header retryAfter = status == 429 || status == 503 ? response.getFirstHeader("Retry-After") : null;
        return new Answer(status, excerpt(body), retryAfter == null ? null : retryAfterMs(retryAfter.getValue()));
    }

    /** Retry-After as seconds or an HTTP date; null when unreadable. */
    static Long retryAfterMs(String value) {
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
