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

import org.apache.hc.client5.http.classic.methods.HttpPost;
import org.apache.hc.client5.http.config.ConnectionConfig;
import org.apache.hc.client5.http.config.RequestConfig;
import org.apache.hc.client5.http.impl.classic.CloseableHttpClient;
import org.apache.hc.client5.http.impl.classic.HttpClients;
import org.apache.hc.client5.http.impl.io.PoolingHttpClientConnectionManagerBuilder;
import org.apache.hc.core5.http.ClassicHttpResponse;
import org.apache.hc.core5.http.ContentType;
import org.apache.hc.core5.http.Header;
import org.apache.hc.core5.http.io.entity.ByteArrayEntity;
import org.apache.hc.core5.http.io.entity.EntityUtils;
import org.apache.hc.core5.http.message.BasicHeader;
import org.apache.hc.core5.io.CloseMode;
import org.apache.hc.core5.util.TimeValue;
import org.apache.hc.core5.util.Timeout;
import org.jboss.logging.Logger;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.pgrouter.event.CanonicalEvent;
import io.pgrouter.delivery.DeliveryBatch;
import io.pgrouter.delivery.DurableDelivery;
import io.pgrouter.delivery.RoutedEvent;
import io.pgrouter.delivery.Sink;
import io.pgrouter.delivery.SinkContext;
import io.pgrouter.delivery.SinkEvent;
import io.pgrouter.delivery.SourceBuffers;
import io.pgrouter.delivery.SinkDeliveryException;

/**
 * The webhook sink: POSTs each event as a CloudEvent (structured or binary mode, or batches of them) with Standard
 * Webhooks headers re-signed on every attempt. 2xx is success; 410 disables the receiver; 408, 429, 5xx, timeouts and
 * connection errors are retried (Retry-After honoured on 429/503), in-line then from the retry store; any other answer
 * refuses the event for good (dead letters). With {@code concurrency} > 1, events go out in lanes by subject hash.
 */
public class WebhookSink implements Sink {

    private static final Logger LOG = Logger.getLogger(WebhookSink.class);
    private static final String SINK = WebhookConfig.SINK;

    private final WebhookConfig config;
    private final WebhookReceivers receivers;
    private final URI uri;
    private final String where;
    private final CloseableHttpClient client;
    private final DurableDelivery delivery;

    /** Batched mode: each source's partial batch, sent when full, at that source's batch end, or when its linger is over. */
    private final SourceBuffers<Pending> pending = new SourceBuffers<>(Pending::new);

    private static final class Pending {
        final List<Batched> events = new ArrayList<>();
        long oldestAt;
    }

    public WebhookSink(WebhookConfig config, SinkContext context) {
        this.config = config;
        this.receivers = context.bean(WebhookReceivers.class);
        receivers.watch();
        this.uri = URI.create(config.getUrl());
        // error messages name the receiver without its query string, which may carry a token
        this.where = config.destination();
        this.delivery = context.delivery();
        this.client = client(config);
        this.lanes = config.getConcurrency() > 1 ? new WebhookLanes(config.getConcurrency()) : null;
    }

    private static CloseableHttpClient client(WebhookConfig config) {
        // blocking HTTP/1.1 on the lane's own thread: no selector or executor hand-offs per request, the main CPU cost
        // of the JDK client here; retries are the sink's own, redirects are not followed
        Timeout timeout = Timeout.ofMilliseconds(config.getTimeoutMs());
        int concurrency = config.getConcurrency();
        var builder = HttpClients.custom()
                .setConnectionManager(PoolingHttpClientConnectionManagerBuilder.create().useSystemProperties()
                        // the lanes and the retry worker's subjects at once
                        .setMaxConnPerRoute(2 * concurrency).setMaxConnTotal(2 * concurrency)
                        .setDefaultConnectionConfig(ConnectionConfig.custom().setConnectTimeout(timeout).setSocketTimeout(timeout)
                                // a connection idle for a while is checked first: receivers close idle keep-alive connections
                                .setValidateAfterInactivity(TimeValue.ofSeconds(1)).build())
                        .build())
                .setDefaultRequestConfig(RequestConfig.custom().setConnectionRequestTimeout(timeout).setResponseTimeout(timeout).build())
                .disableAutomaticRetries().disableRedirectHandling().disableCookieManagement().disableContentCompression()
                .disableAuthCaching();
        // bin/pgrouter routes test: the request as the client makes it, handed to the capture instead of the network
        if (io.pgrouter.delivery.DryRun.on()) CapturedRequests.install(builder);
        return builder.build();
    }

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
    public void accept(RoutedEvent event) throws Exception {
        String json = event.json();
        String subject = event.subject();
        String routeId = event.routeId();
        String id = event.id();
        if (config.batched()) {
            buffer(new Batched(json, subject, routeId, id != null ? id : event.exchangeId(), event.sequence()));
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

    /** The end of a source batch: what batch mode holds for the calling source is sent (with a linger, once due); its events still in lanes are waited for. */
    @Override
    public long flush(boolean everything) throws Exception {
        long held = Long.MAX_VALUE;
        if (config.batched()) {
            if (everything) sendBuffered();
            else held = sendDue();
        }
        if (lanes != null) lanes.drain();
        return held;
    }

    /** Batched mode: keeps the event; sends a batch when it is full (a partial one when its linger is over). */
    private synchronized void buffer(Batched event) throws Exception {
        Pending mine = pending.mine();
        if (mine.events.isEmpty()) mine.oldestAt = System.nanoTime();
        mine.events.add(event);
        if (mine.events.size() >= config.getBatchSize()) send(mine);
    }

    /** The calling source's batch end: sends its partial batch if due; the sequence of its oldest event still held. */
    private synchronized long sendDue() throws Exception {
        pending.discardEnded(p -> p.events.clear());
        Pending mine = pending.mineIfAny();
        return mine == null ? Long.MAX_VALUE : sendDue(mine);
    }

    private long sendDue(Pending p) throws Exception {
        if (!p.events.isEmpty() && System.nanoTime() - p.oldestAt >= config.getLingerMs() * 1_000_000) send(p);
        return p.events.isEmpty() ? Long.MAX_VALUE : p.events.get(0).sequence();
    }

    /** Every source's partial batch whose linger is over, even if no source batch ends (a quiet database). */
    @Override
    public synchronized void sendLingering() {
        if (!config.batched() || config.getLingerMs() == 0) return;
        pending.forEach(p -> {
            try {
                sendDue(p);
            } catch (Exception e) {
                LOG.warnf("webhook batch not sent yet: %s", e.getMessage());
            }
        });
    }

    /** The calling source's batch end without a linger (a replay, a shutdown): sends its partial batch. */
    private synchronized void sendBuffered() throws Exception {
        Pending mine = pending.mineIfAny();
        if (mine != null) send(mine);
    }

    private void send(Pending p) throws Exception {
        if (p.events.isEmpty()) return;
        List<Batched> batch = List.copyOf(p.events);
        p.events.clear();
        try {
            sendBatch(batch);
            // what it parked is written now: the linger timer that may send this batch is no source with a batch end
            delivery.writeParked();
        } catch (Exception e) {
            // neither sent, parked nor dead-lettered (the stores are down): held again, the source keeps its position
            p.events.addAll(0, batch);
            throw e;
        }
    }

    @Override
    public void close() {
        if (lanes != null) lanes.shutdown();
        client.close(CloseMode.GRACEFUL);
    }

    /** With concurrency > 1: one lane per subject hash, so a subject's events keep their order; done by batch end. */
    private final WebhookLanes lanes;

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
    private void sendBatch(List<Batched> events) throws Exception {
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
    @Override
    public void redeliver(String json) throws SinkDeliveryException, InterruptedException {
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
        if ("binary".equals(config.getMode())) {
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
        if (receivers.isDisabled(where)) {
            throw new SinkDeliveryException(SINK, where + " is disabled: it answered 410 Gone (re-enable it with bin/pgrouter webhooks enable)", 410, null, 0, null);
        }
        long timestamp = io.pgrouter.delivery.DryRun.currentTimeMillis() / 1000;
        HttpPost request = new HttpPost(uri);
        for (Header h : prepared.headers()) request.addHeader(h);
        config.extraHeaders().forEach(request::addHeader);
        request.addHeader("webhook-id", prepared.id());
        request.addHeader("webhook-timestamp", Long.toString(timestamp));
        if (config.signer().signs()) request.addHeader("webhook-signature", config.signer().signature(prepared.id(), timestamp, prepared.body()));
        request.setEntity(new ByteArrayEntity(prepared.body(), prepared.type()));
        Answer response;
        try {
            response = client.execute(request, WebhookSink::answer);
        } catch (IOException e) {
            if (Thread.currentThread().isInterrupted()) throw new InterruptedException("interrupted while sending to " + where);
            throw new SinkDeliveryException(SINK, e.toString(), null, e.toString(), 1, true, null, null);
        }
        int status = response.status();
        if (status / 100 == 2) return;
        String answer = response.excerpt();
        if (status == 410) {
            receivers.disable(config.getUrl(), answer);
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
