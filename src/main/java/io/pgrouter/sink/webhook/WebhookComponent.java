package io.pgrouter.sink.webhook;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import jakarta.inject.Named;
import jakarta.inject.Singleton;

import org.apache.camel.Endpoint;

import io.pgrouter.delivery.RetryingSinkComponent;
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
public class WebhookComponent extends RetryingSinkComponent {

    /** URLs that answered 410 Gone: events for them go to dead letters until re-enabled (bin/pgrouter webhooks enable). */
    private final Set<String> disabled = ConcurrentHashMap.newKeySet();

    @jakarta.inject.Inject
    io.pgrouter.postgres.Postgres postgres;

    private java.util.concurrent.ScheduledExecutorService refresher;

    @Override
    protected void doStart() throws Exception {
        super.doStart();
        refresher = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "pgrouter-webhook-state");
            t.setDaemon(true);
            return t;
        });
        refresher.scheduleWithFixedDelay(this::refreshDisabled, 0, 2, java.util.concurrent.TimeUnit.SECONDS);
        refresher.scheduleWithFixedDelay(this::sendLingering, 50, 50, java.util.concurrent.TimeUnit.MILLISECONDS);
    }

    private final java.util.List<WebhookLanes> lanes = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final java.util.List<WebhookEndpoint> batching = new java.util.concurrent.CopyOnWriteArrayList<>();

    WebhookLanes lanes(int concurrency) {
        WebhookLanes l = new WebhookLanes(concurrency);
        lanes.add(l);
        return l;
    }

    /** A lingering partial batch goes out when due even if no source batch ends meanwhile (a quiet database). */
    private void sendLingering() {
        for (WebhookEndpoint e : batching) {
            if (!e.lingers()) continue;
            try {
                e.sendLingering();
            } catch (Exception failure) {
                org.jboss.logging.Logger.getLogger(WebhookComponent.class).warnf("webhook batch not sent yet: %s", failure.getMessage());
            }
        }
    }

    @Override
    protected void doStop() throws Exception {
        if (refresher != null) refresher.shutdownNow();
        lanes.forEach(WebhookLanes::shutdown);
        super.doStop();
    }

    @Override
    protected Endpoint createEndpoint(String uri, String remaining, Map<String, Object> parameters) throws Exception {
        WebhookEndpoint endpoint = configured(new WebhookEndpoint(uri, this), parameters, WebhookEndpoint::validate);
        if ("batch".equals(endpoint.getMode())) batching.add(endpoint);
        return endpoint;
    }

    /** The receiver without its query string, which may carry a token: what is stored and shown in health. */
    static String plain(String url) {
        java.net.URI u = java.net.URI.create(url);
        return u.getScheme() + "://" + u.getAuthority() + (u.getPath() == null ? "" : u.getPath());
    }

    /** 410 Gone: kept in pgrouter.disabled_webhooks, so it stays disabled across restarts until re-enabled. */
    void disable(String url, String answer) {
        String plain = plain(url);
        disabledHere.put(plain, Long.MAX_VALUE);
        disabled.add(plain);
        try (java.sql.Connection c = postgres.open()) {
            ensureTable(c);
            try (java.sql.PreparedStatement ps = c.prepareStatement("INSERT INTO " + postgres.schema() + ".disabled_webhooks (url, last_answer) "
                    + "VALUES (?, ?) ON CONFLICT (url) DO NOTHING")) {
                ps.setString(1, plain);
                ps.setString(2, answer);
                ps.executeUpdate();
            }
        } catch (java.sql.SQLException e) {
            org.jboss.logging.Logger.getLogger(WebhookComponent.class).warnf("could not store that %s is disabled: %s", plain, e.getMessage());
        } finally {
            disabledHere.put(plain, System.nanoTime());
        }
    }

    /** URLs this router disabled, and when their row was stored (MAX_VALUE while storing). */
    private final Map<String, Long> disabledHere = new ConcurrentHashMap<>();

    private void ensureTable(java.sql.Connection c) throws java.sql.SQLException {
        try (java.sql.Statement s = c.createStatement()) {
            s.execute("CREATE TABLE IF NOT EXISTS " + postgres.schema() + ".disabled_webhooks (url text PRIMARY KEY, "
                    + "disabled_at timestamptz NOT NULL DEFAULT now(), last_answer text)");
        }
    }

    /** @param plainUrl the receiver as {@link #plain(String)} gives it (computed once per endpoint, not per event) */
    boolean isDisabled(String plainUrl) {
        return !disabled.isEmpty() && disabled.contains(plainUrl);
    }

    /** Re-reads the disabled endpoints (bin/pgrouter webhooks enable removes one). */
    void refreshDisabled() {
        try (java.sql.Connection c = postgres.open(); java.sql.Statement s = c.createStatement()) {
            ensureTable(c);
            long readAt = System.nanoTime();
            Set<String> stored = new java.util.HashSet<>();
            try (java.sql.ResultSet rs = s.executeQuery("SELECT url FROM " + postgres.schema() + ".disabled_webhooks")) {
                while (rs.next()) stored.add(rs.getString(1));
            }
            // a URL this router disabled while the query ran may be missing from it: kept until a later read
            disabled.removeIf(u -> !stored.contains(u) && disabledHere.getOrDefault(u, Long.MIN_VALUE) < readAt);
            disabled.addAll(stored);
        } catch (java.sql.SQLException e) {
            // the database is unreachable: keep what we know
        }
    }

    public Set<String> disabledUrls() {
        return Set.copyOf(disabled);
    }
}
