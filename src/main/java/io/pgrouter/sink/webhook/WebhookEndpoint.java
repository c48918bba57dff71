package io.pgrouter.sink.webhook;

import java.net.URI;
import java.util.LinkedHashMap;
import java.util.Map;

import org.apache.camel.Consumer;
import org.apache.camel.Processor;
import org.apache.camel.Producer;
import org.apache.hc.client5.http.config.ConnectionConfig;
import org.apache.hc.client5.http.config.RequestConfig;
import org.apache.hc.client5.http.impl.classic.CloseableHttpClient;
import org.apache.hc.client5.http.impl.classic.HttpClients;
import org.apache.hc.client5.http.impl.io.PoolingHttpClientConnectionManagerBuilder;
import org.apache.hc.core5.io.CloseMode;
import org.apache.hc.core5.util.TimeValue;
import org.apache.hc.core5.util.Timeout;

import io.pgrouter.delivery.Redeliverable;
import io.pgrouter.delivery.RetryingSinkEndpoint;
import io.pgrouter.delivery.SinkDeliveryException;
import io.pgrouter.delivery.SourceBuffers;

/** One webhook receiver and how to deliver to it. */
public class WebhookEndpoint extends RetryingSinkEndpoint {

    /** Requests in flight per endpoint unless a route says otherwise; the Kamelet's {@code concurrency} default is the same (tested). */
    public static final int DEFAULT_CONCURRENCY = 8;

    private String url;
    private String secret;
    private String mode = "structured";
    private long timeoutMs = 15_000;
    private long maxRetryAfterMs = 60_000;
    private String headers;
    private int concurrency = DEFAULT_CONCURRENCY;
    private int batchSize = 100;
    private long lingerMs;
    /** Batched mode: each source's partial batch, sent when full, at that source's batch end, or when its linger is over. */
    private final SourceBuffers<Pending> pending = new SourceBuffers<>(Pending::new);

    private static final class Pending {
        final java.util.List<WebhookProducer.Batched> events = new java.util.ArrayList<>();
        long oldestAt;
    }

    private StandardWebhooksSigner signer;
    private Map<String, String> extraHeaders;
    private CloseableHttpClient client;

    WebhookEndpoint(String uri, WebhookComponent component) {
        super(uri, component);
    }

    void validate() {
        if (url == null || url.isBlank()) throw new IllegalArgumentException("webhook-sink needs url");
        URI parsed = URI.create(url);
        if (!"http".equals(parsed.getScheme()) && !"https".equals(parsed.getScheme())) {
            throw new IllegalArgumentException("webhook-sink url must be http or https: " + url);
        }
        if (lingerMs < 0) throw new IllegalArgumentException("webhook-sink lingerMs must be 0 or more, got " + lingerMs);
        if (concurrency < 1) throw new IllegalArgumentException("webhook-sink concurrency must be 1 or more, got " + concurrency);
        if (!mode.equals("structured") && !mode.equals("binary") && !mode.equals("batch")) {
            throw new IllegalArgumentException("webhook-sink mode must be structured, binary or batch, got " + mode);
        }
        signer = StandardWebhooksSigner.of(secret);
        extraHeaders = new LinkedHashMap<>();
        if (headers != null && !headers.isBlank()) {
            for (String pair : headers.split(";")) {
                int colon = pair.indexOf(':');
                if (colon <= 0) throw new IllegalArgumentException("webhook-sink headers must be 'Name: value; Name2: value2'");
                extraHeaders.put(pair.substring(0, colon).trim(), pair.substring(colon + 1).trim());
            }
        }
        // blocking HTTP/1.1 on the lane's own thread: no selector or executor hand-offs per request, the main CPU cost
        // of the JDK client here; retries are the sink's own, redirects are not followed
        Timeout timeout = Timeout.ofMilliseconds(timeoutMs);
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
        client = builder.build();
    }

    @Override
    public Producer createProducer() {
        return producer();
    }

    private WebhookProducer producer;

    /** The end of a source batch: what batch mode holds for the calling source is sent; its events still in lanes are waited for. */
    @Override
    protected void flushSource() throws Exception {
        if ("batch".equals(mode)) sendBuffered();
        drainLanes();
    }

    /** As {@link #flushSource()}, but with a linger a partial batch is kept until it is due. */
    @Override
    protected long flushSourceDue() throws Exception {
        long held = "batch".equals(mode) ? sendDue() : Long.MAX_VALUE;
        drainLanes();
        return held;
    }

    private void drainLanes() throws Exception {
        WebhookProducer p;
        synchronized (this) {
            p = producer;
        }
        if (p != null) p.drainLanes();
    }

    private synchronized WebhookProducer producer() {
        if (producer == null) producer = new WebhookProducer(this);
        return producer;
    }

    /** A hash of the endpoint's configuration: the URI holds the secret, so the URI itself is never stored. */
    @Override
    public String sinkKey() {
        return Redeliverable.sinkKey("webhook-sink", getEndpointUri());
    }

    @Override
    public void redeliver(String eventJson) throws SinkDeliveryException, InterruptedException {
        producer().redeliver(eventJson);
    }

    @Override
    public int concurrency() {
        return concurrency;
    }

    /** As every sink, but a Retry-After is honoured up to its own maxRetryAfterMs. */
    @Override
    public io.pgrouter.delivery.DurableDelivery.Policy policy() {
        return new io.pgrouter.delivery.DurableDelivery.Policy(getRetries(), getBackoffMs(), getMaxBackoffMs(), maxRetryAfterMs, getRetryBudgetMs());
    }

    @Override
    public Consumer createConsumer(Processor processor) {
        throw new UnsupportedOperationException("pgwebhook: is a sink");
    }

    @Override
    public WebhookComponent getComponent() {
        return (WebhookComponent) super.getComponent();
    }

    StandardWebhooksSigner signer() { return signer; }
    Map<String, String> extraHeaders() { return extraHeaders; }
    CloseableHttpClient client() { return client; }

    @Override
    protected void doShutdown() throws Exception {
        if (client != null) client.close(CloseMode.GRACEFUL);
        super.doShutdown();
    }

    public String getUrl() { return url; }
    public void setUrl(String url) { this.url = url; }
    public String getSecret() { return secret; }
    public void setSecret(String secret) { this.secret = secret; }
    public String getMode() { return mode; }
    public void setMode(String mode) { this.mode = mode; }
    public long getTimeoutMs() { return timeoutMs; }
    public void setTimeoutMs(long timeoutMs) { this.timeoutMs = timeoutMs; }
    public long getMaxRetryAfterMs() { return maxRetryAfterMs; }
    public void setMaxRetryAfterMs(long maxRetryAfterMs) { this.maxRetryAfterMs = maxRetryAfterMs; }
    /** Batched mode: keeps the event; sends a batch when it is full (a partial one when its linger is over). */
    synchronized void buffer(WebhookProducer.Batched event) throws Exception {
        Pending mine = pending.mine();
        if (mine.events.isEmpty()) mine.oldestAt = System.nanoTime();
        mine.events.add(event);
        if (mine.events.size() >= batchSize) send(mine);
    }

    /** The calling source's batch end: sends its partial batch if due; the sequence of its oldest event still held. */
    synchronized long sendDue() throws Exception {
        pending.discardEnded(p -> p.events.clear());
        Pending mine = pending.mineIfAny();
        return mine == null ? Long.MAX_VALUE : sendDue(mine);
    }

    private long sendDue(Pending p) throws Exception {
        if (!p.events.isEmpty() && System.nanoTime() - p.oldestAt >= lingerMs * 1_000_000) send(p);
        return p.events.isEmpty() ? Long.MAX_VALUE : p.events.get(0).sequence();
    }

    /** Every source's partial batch whose linger is over, even if no source batch ends (a quiet database); the first failure is thrown. */
    synchronized void sendLingering() throws Exception {
        Exception[] first = {null};
        pending.forEach(p -> {
            try {
                sendDue(p);
            } catch (Exception e) {
                if (first[0] == null) first[0] = e;
            }
        });
        if (first[0] != null) throw first[0];
    }

    /** The calling source's batch end without a linger (a replay, a shutdown): sends its partial batch. */
    synchronized void sendBuffered() throws Exception {
        Pending mine = pending.mineIfAny();
        if (mine != null) send(mine);
    }

    private void send(Pending p) throws Exception {
        if (p.events.isEmpty()) return;
        java.util.List<WebhookProducer.Batched> batch = java.util.List.copyOf(p.events);
        p.events.clear();
        try {
            producer().sendBatch(batch);
            // what it parked is written now: the linger timer that may send this batch is no source with a batch end
            getComponent().retryStore().writeParked();
        } catch (Exception e) {
            // neither sent, parked nor dead-lettered (the stores are down): held again, the source keeps its position
            p.events.addAll(0, batch);
            throw e;
        }
    }

    boolean lingers() {
        return lingerMs > 0;
    }

    public long getLingerMs() { return lingerMs; }
    public void setLingerMs(long lingerMs) { this.lingerMs = lingerMs; }
    public int getBatchSize() { return batchSize; }
    public void setBatchSize(int batchSize) { this.batchSize = batchSize; }
    public int getConcurrency() { return concurrency; }
    public void setConcurrency(int concurrency) { this.concurrency = concurrency; }
    public String getHeaders() { return headers; }
    public void setHeaders(String headers) { this.headers = headers; }
}
