package io.pgrouter.sink.webhook;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import jakarta.inject.Named;
import jakarta.inject.Singleton;

import org.apache.camel.Endpoint;
import org.apache.camel.support.DefaultComponent;

import io.pgrouter.sink.BatchBoundary;
import io.pgrouter.sink.RetryStore;
import io.pgrouter.store.DeadLetterStore;
import io.pgrouter.sink.RetryWorker;
import io.quarkus.arc.Unremovable;

/**
 * {@code pgwebhook:<name>?url=...&secret=...&mode=structured|binary&timeoutMs=...&retries=...}: the producer behind
 * {@code kamelets/webhook-sink.kamelet.yaml}. Camel's HTTP component sends requests; this one owns the webhook
 * contract around them: CloudEvents modes, Standard Webhooks signatures re-computed on every attempt, outcome
 * classes (2xx, Retry-After, retryable, permanent, 410 disables the endpoint) and the retry schedule.
 */
@Singleton
@Named("pgwebhook")
@Unremovable
public class WebhookComponent extends DefaultComponent implements BatchBoundary {

    /** URLs that answered 410 Gone: events for them go to dead letters until the router restarts. */
    private final Set<String> disabled = ConcurrentHashMap.newKeySet();

    @jakarta.inject.Inject
    RetryStore retryStore;

    @jakarta.inject.Inject
    RetryWorker retryWorker;

    @jakarta.inject.Inject
    DeadLetterStore deadLetters;

    private final java.util.List<WebhookLanes> lanes = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final java.util.List<WebhookEndpoint> batching = new java.util.concurrent.CopyOnWriteArrayList<>();

    WebhookLanes lanes(int concurrency) {
        WebhookLanes l = new WebhookLanes(concurrency);
        lanes.add(l);
        return l;
    }

    DeadLetterStore deadLetters() {
        return deadLetters;
    }

    /** The end of a source batch sends what batched endpoints hold and waits for the events still in lanes. */
    @Override
    public void flush() throws Exception {
        for (WebhookEndpoint e : batching) e.sendBuffered();
        for (WebhookLanes l : lanes) l.drain();
    }

    @Override
    protected void doStop() throws Exception {
        lanes.forEach(WebhookLanes::shutdown);
        super.doStop();
    }

    @Override
    protected Endpoint createEndpoint(String uri, String remaining, Map<String, Object> parameters) throws Exception {
        WebhookEndpoint endpoint = new WebhookEndpoint(uri, this);
        setProperties(endpoint, parameters);
        endpoint.validate();
        retryWorker.register(endpoint);
        if ("batch".equals(endpoint.getMode())) batching.add(endpoint);
        return endpoint;
    }

    RetryStore retryStore() {
        return retryStore;
    }

    void disable(String url) {
        // kept without its query string, which may carry a token: this set is shown in health
        java.net.URI u = java.net.URI.create(url);
        disabled.add(u.getScheme() + "://" + u.getAuthority() + (u.getPath() == null ? "" : u.getPath()));
    }

    boolean isDisabled(String url) {
        java.net.URI u = java.net.URI.create(url);
        return disabled.contains(u.getScheme() + "://" + u.getAuthority() + (u.getPath() == null ? "" : u.getPath()));
    }

    public Set<String> disabledUrls() {
        return Set.copyOf(disabled);
    }
}
