package io.pgrouter.sink.webhook;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import jakarta.annotation.PreDestroy;
import jakarta.inject.Singleton;

import org.jboss.logging.Logger;

import io.pgrouter.postgres.Postgres;
import io.quarkus.arc.Unremovable;

/**
 * What every webhook sink shares: the receivers that answered 410 Gone, whose events go to dead letters until
 * re-enabled ({@code bin/pgrouter webhooks enable}), kept in {@code pgrouter.disabled_webhooks} so they stay disabled
 * across restarts and re-read every 2 s.
 */
@Singleton
@Unremovable
public class WebhookReceivers {

    private static final Logger LOG = Logger.getLogger(WebhookReceivers.class);

    private final Postgres postgres;
    private final Set<String> disabled = ConcurrentHashMap.newKeySet();
    /** URLs this router disabled, and when their row was stored (MAX_VALUE while storing). */
    private final Map<String, Long> disabledHere = new ConcurrentHashMap<>();
    private java.util.concurrent.ScheduledExecutorService refresher;

    public WebhookReceivers(Postgres postgres) {
        this.postgres = postgres;
    }

    /** Starts re-reading the disabled receivers (a webhook sink was made). */
    synchronized void watch() {
        if (refresher != null) return;
        refresher = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "pgrouter-webhook-state");
            t.setDaemon(true);
            return t;
        });
        refresher.scheduleWithFixedDelay(this::refreshDisabled, 0, 2, java.util.concurrent.TimeUnit.SECONDS);
    }

    @PreDestroy
    synchronized void stop() {
        if (refresher != null) refresher.shutdownNow();
        refresher = null;
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
            LOG.warnf("could not store that %s is disabled: %s", plain, e.getMessage());
        } finally {
            disabledHere.put(plain, System.nanoTime());
        }
    }

    private void ensureTable(java.sql.Connection c) throws java.sql.SQLException {
        try (java.sql.Statement s = c.createStatement()) {
            s.execute("CREATE TABLE IF NOT EXISTS " + postgres.schema() + ".disabled_webhooks (url text PRIMARY KEY, "
                    + "disabled_at timestamptz NOT NULL DEFAULT now(), last_answer text)");
        }
    }

    /** @param plainUrl the receiver as {@link #plain(String)} gives it (computed once per sink, not per event) */
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
