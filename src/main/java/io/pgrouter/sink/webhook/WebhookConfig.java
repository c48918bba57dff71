package io.pgrouter.sink.webhook;

import java.net.URI;
import java.util.LinkedHashMap;
import java.util.Map;

import org.apache.camel.CamelContext;

import io.pgrouter.delivery.DurableDelivery;
import io.pgrouter.delivery.SinkConfig;

/**
 * The webhook sink's options ({@code kamelets/webhook-sink.kamelet.yaml}): the receiver's {@code url}, the Standard
 * Webhooks {@code secret}(s), {@code mode} (structured, binary or batch), {@code timeoutMs}, {@code maxRetryAfterMs}
 * (the longest Retry-After waited for in-line), extra {@code headers}, {@code concurrency} (requests in flight, one
 * lane per subject hash), and for batch mode {@code batchSize} and {@code lingerMs}.
 */
public class WebhookConfig extends SinkConfig {

    /** The sink's name in dead letters, retry keys and metrics. */
    static final String SINK = "webhook-sink";

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

    private String plain;
    private StandardWebhooksSigner signer;
    private Map<String, String> extraHeaders;

    @Override
    public String sink() {
        return SINK;
    }

    @Override
    protected void validate(CamelContext camel) {
        if (url == null || url.isBlank()) throw new IllegalArgumentException("webhook-sink needs url");
        URI parsed = URI.create(url);
        if (!"http".equals(parsed.getScheme()) && !"https".equals(parsed.getScheme())) {
            throw new IllegalArgumentException("webhook-sink url must be http or https: " + url);
        }
        if (lingerMs < 0) throw new IllegalArgumentException("webhook-sink lingerMs must be 0 or more, got " + lingerMs);
        if (concurrency < 1) throw new IllegalArgumentException("webhook-sink concurrency must be 1 or more, got " + concurrency);
        positive("batchSize", batchSize, 1);
        positive("timeoutMs", timeoutMs, 1);
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
        plain = WebhookReceivers.plain(url);
    }

    /** The endpoint's whole URI: it holds the secret, so only its hash is ever stored. */
    @Override
    protected String identity() {
        return endpointUri();
    }

    @Override
    public String where() {
        return "webhook " + plain;
    }

    /** The receiver without its query string, which may carry a token. */
    @Override
    public String destination() {
        return plain;
    }

    /** As every sink, but a Retry-After is honoured up to its own maxRetryAfterMs. */
    @Override
    public DurableDelivery.Policy policy() {
        return new DurableDelivery.Policy(getRetries(), getBackoffMs(), getMaxBackoffMs(), maxRetryAfterMs, getRetryBudgetMs());
    }

    @Override
    public int concurrency() {
        return concurrency;
    }

    boolean batched() {
        return "batch".equals(mode);
    }

    StandardWebhooksSigner signer() { return signer; }
    Map<String, String> extraHeaders() { return extraHeaders; }

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
    public long getLingerMs() { return lingerMs; }
    public void setLingerMs(long lingerMs) { this.lingerMs = lingerMs; }
    public int getBatchSize() { return batchSize; }
    public void setBatchSize(int batchSize) { this.batchSize = batchSize; }
    public int getConcurrency() { return concurrency; }
    public void setConcurrency(int concurrency) { this.concurrency = concurrency; }
    public String getHeaders() { return headers; }
    public void setHeaders(String headers) { this.headers = headers; }
}
