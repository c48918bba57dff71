package io.pgrouter.source.notify;

import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

import jakarta.inject.Singleton;

import org.jboss.logging.Logger;

import io.pgrouter.config.NotifyConfig;
import io.pgrouter.event.CanonicalEvent;
import io.pgrouter.event.EventMapper;
import io.pgrouter.postgres.Postgres;
import io.pgrouter.source.EventDispatcher;
import io.pgrouter.source.EventSource;
import io.pgrouter.source.PgConsumer;
import io.pgrouter.source.SourceState;
import io.pgrouter.delivery.DeadLetterStore;
import io.vertx.core.Vertx;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.pgclient.pubsub.PgSubscriber;

/**
 * The NOTIFY source: one LISTEN connection per database, shared by every {@code pg:notify} route, on Vert.x'
 * {@link PgSubscriber} (maintained, reconnects and re-LISTENs every channel). camel-pgevent's consumer is not
 * used: after a PostgreSQL restart it opens a second connection and delivers each notification twice.
 * Notifications are routed in arrival order on one thread, off the event loop.
 */
@Singleton
public class NotifySource implements EventSource {

    private static final Logger LOG = Logger.getLogger(NotifySource.class);

    private final Vertx vertx;
    private final Postgres postgres;
    private final NotifyConfig config;
    private final EventDispatcher dispatcher;
    private final DeadLetterStore deadLetters;
    private final EventMapper mapper;
    private final ClaimCheck claimCheck;
    private final List<PgConsumer> consumers = new CopyOnWriteArrayList<>();

    private volatile PgSubscriber subscriber; // read by Vert.x callbacks: null once stopped
    private ThreadPoolExecutor routing;
    private volatile boolean everConnected;
    private volatile String lastFailure;
    /** The periodic check of the LISTEN connection (a Vert.x timer), or -1. */
    private long checkTimer = -1;
    /** Whether a check waits for its answer: one at a time. */
    private final java.util.concurrent.atomic.AtomicBoolean checking = new java.util.concurrent.atomic.AtomicBoolean();

    public NotifySource(Vertx vertx, Postgres postgres, NotifyConfig config, EventDispatcher dispatcher, DeadLetterStore deadLetters) {
        this.vertx = vertx;
        this.postgres = postgres;
        this.config = config;
        this.dispatcher = dispatcher;
        this.deadLetters = deadLetters;
        this.mapper = new EventMapper(postgres.database());
        this.claimCheck = new ClaimCheck(postgres);
    }

    @Override
    public void subscribe(PgConsumer consumer) {
        consumers.add(consumer);
        PgSubscriber s = subscriber;
        if (s != null) {
            consumer.subscription().channels().forEach(channel -> listen(s, channel));
        }
    }

    @Override
    public void unsubscribe(PgConsumer consumer) {
        consumers.remove(consumer);
    }

    public synchronized void start() {
        if (consumers.isEmpty() || subscriber != null) return;
        try {
            deadLetters.ensureSchema();
        } catch (RuntimeException e) {
            // LISTEN does not need the store; a notification that cannot be routed says so when it cannot be kept
            LOG.warnf("dead letters of NOTIFY routes cannot be stored yet: %s", e.getMessage());
        }
        routing = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS, new LinkedBlockingQueue<>(), r -> new Thread(r, "pgrouter-notify"));
        subscriber = newSubscriber();
        if (config.checkIntervalMs() > 0) checkTimer = vertx.setPeriodic(config.checkIntervalMs(), t -> check());
        everConnected = false;
        CompletableFuture<Void> first = new CompletableFuture<>();
        connect(subscriber, 0, first);
        try {
            // wait a little so notifications sent right after start-up are heard; connect goes on trying after
            first.get(5, TimeUnit.SECONDS);
        } catch (java.util.concurrent.TimeoutException | java.util.concurrent.ExecutionException e) {
            // connect() logged why and keeps trying
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Whether the server speaks TLS to the router's JDBC connections (sslmode prefer), once known; null until then. */
    private volatile Boolean serverOffersTls;

    /** Asks once (a JDBC connection with the same URL): whether PostgreSQL encrypts this router's connections. */
    private Boolean serverOffersTls() {
        // not on Vert.x' event loop, which a JDBC connection would block: Vert.x' prefer until asked from elsewhere
        if (serverOffersTls != null || io.vertx.core.Context.isOnEventLoopThread()) return serverOffersTls;
        try (java.sql.Connection c = postgres.open(); java.sql.Statement s = c.createStatement();
                java.sql.ResultSet rs = s.executeQuery("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")) {
            serverOffersTls = rs.next() && rs.getBoolean(1);
        } catch (java.sql.SQLException e) {
            LOG.debugf("could not ask PostgreSQL whether it offers TLS (%s); the LISTEN connection tries TLS first", e.getMessage());
        }
        return serverOffersTls;
    }

    /** A subscriber LISTENing on every channel of the routes, not connected yet. */
    private PgSubscriber newSubscriber() {
        PgConnectOptions options = new PgConnectOptions()
                .setHost(postgres.location().host())
                .setPort(postgres.location().port())
                .setDatabase(postgres.database())
                .setUser(postgres.config().user())
                .setTcpKeepAlive(true)
                .setConnectTimeout((int) TimeUnit.SECONDS.toMillis(postgres.config().connectTimeoutSeconds()))
                .addProperty("application_name", "pg-event-router-listen");
        postgres.config().password().ifPresent(options::setPassword);
        io.pgrouter.postgres.PostgresTls.parse(postgres.config().url()).applyTo(options, serverOffersTls());
        PgSubscriber s = PgSubscriber.subscriber(vertx, options)
                .reconnectPolicy(attempt -> {
                    long delay = backoff(attempt);
                    // one line per outage, not one per attempt (readiness data shows the state meanwhile)
                    if (attempt == 0) {
                        LOG.warnf("LISTEN connection to %s lost; reconnecting every %d ms at most", postgres.database(), config.maxReconnectBackoffMs());
                    } else {
                        LOG.debugf("LISTEN reconnect attempt %d failed; next in %d ms", attempt.longValue(), delay);
                    }
                    return delay;
                });
        channels().forEach(channel -> listen(s, channel));
        return s;
    }

    /**
     * The first connection, tried until it succeeds: Vert.x' reconnect policy only takes over once a connection was
     * made, so a database that is not up yet or a password that is fixed later would otherwise never be retried.
     */
    private void connect(PgSubscriber s, int attempt, CompletableFuture<Void> first) {
        s.connect().onComplete(ar -> {
            if (ar.succeeded()) {
                everConnected = true;
                lastFailure = null;
                LOG.infof("LISTENing on %s in database %s", channels(), postgres.database());
                first.complete(null);
                return;
            }
            if (subscriber != s) return; // stopped meanwhile
            lastFailure = ar.cause().getMessage();
            // the same failure again is no news: say it once, then at DEBUG
            if (attempt == 0) {
                LOG.warnf("LISTEN connection to %s as %s failed: %s; retrying every %d ms at most until it connects",
                        postgres.config().url(), postgres.config().user(), lastFailure, config.maxReconnectBackoffMs());
            } else {
                LOG.debugf("LISTEN connection attempt %d failed: %s", attempt + 1, lastFailure);
            }
            s.close(); // a subscriber that never connected accepts connect() again only once closed
            vertx.setTimer(backoff(attempt), t -> {
                if (subscriber == s) connect(s, attempt + 1, first);
            });
        });
    }

    private long backoff(int attempt) {
        return Math.min(config.reconnectBackoffMs() << Math.min(attempt, 16), config.maxReconnectBackoffMs());
    }

    private void listen(PgSubscriber s, String channel) {
        s.channel(channel)
                .subscribeHandler(v -> {
                    everConnected = true;
                    lastFailure = null;
                    LOG.debugf("LISTEN %s", channel);
                    // without a handler Vert.x prints the stack trace of a lost connection; the reconnect policy says it in one line
                    var connection = s.actualConnection();
                    if (connection != null) connection.exceptionHandler(e -> LOG.debugf("LISTEN connection: %s", e.toString()));
                })
                .handler(payload -> {
                    // a subscriber replaced after a check got no answer may hear again once the network heals: not twice
                    if (subscriber == s) routing.execute(() -> route(channel, payload));
                });
    }

    /**
     * A query on the LISTEN connection, one at a time, that must be answered within pgrouter.notify.check-timeout-ms.
     * Unanswered, the subscriber is replaced by a new one on a new connection: closing a connection waits for the
     * answers it is owed, which never come through a network that drops packets silently.
     */
    private void check() {
        PgSubscriber s = subscriber;
        var connection = s == null ? null : s.actualConnection();
        if (connection == null || !checking.compareAndSet(false, true)) return;
        java.util.concurrent.atomic.AtomicBoolean settled = new java.util.concurrent.atomic.AtomicBoolean();
        long timeout = vertx.setTimer(config.checkTimeoutMs(), t -> {
            if (!settled.compareAndSet(false, true)) return;
            checking.set(false);
            replace(s, "no answer to a check within " + config.checkTimeoutMs() + " ms");
        });
        connection.query("SELECT 1").execute().onComplete(ar -> {
            if (!settled.compareAndSet(false, true)) return;
            vertx.cancelTimer(timeout);
            checking.set(false);
        });
    }

    private synchronized void replace(PgSubscriber stale, String why) {
        if (subscriber != stale) return; // stopped or replaced meanwhile
        lastFailure = why;
        LOG.warnf("LISTEN connection to %s lost (%s); reconnecting every %d ms at most", postgres.database(), why, config.maxReconnectBackoffMs());
        subscriber = newSubscriber();
        stale.close();
        // attempt 1: the outage is logged above, failed attempts go to DEBUG
        connect(subscriber, 1, new CompletableFuture<>());
    }

    private void route(String channel, String payload) {
        dispatcher.enterBatch();
        try {
            routeInBatch(channel, payload);
        } finally {
            dispatcher.leaveBatch();
        }
    }

    private void routeInBatch(String channel, String payload) {
        try {
            CanonicalEvent event = EventMapper.isClaimCheck(EventMapper.parseOrText(payload))
                    ? claimCheck.complete(mapper, channel, payload)
                    : mapper.fromNotify(channel, payload);
            dispatcher.dispatch("notify", event, consumers);
        } catch (Exception e) {
            // NOTIFY is at-most-once: nothing to rewind to; name the channel and payload, keep it, and carry on
            String excerpt = payload.length() > 500 ? payload.substring(0, 500) + "..." : payload;
            LOG.errorf("notification on channel %s could not be routed: %s; payload: %s", channel, e.getMessage(), excerpt);
            try {
                deadLetters.recordUnroutable("notify/" + channel, payload, e);
            } catch (Exception stored) {
                LOG.errorf("and it could not be written to the dead-letter store either: %s", stored.getMessage());
            }
        }
        if (routing.getQueue().isEmpty()) { // a burst of notifications is one batch for the batching sinks
            try {
                dispatcher.endOfBatch();
            } catch (Exception e) {
                LOG.errorf("a sink could not make the notifications up to channel %s durable: %s", channel, e.getMessage());
            }
        }
    }

    Set<String> channels() {
        Set<String> channels = new TreeSet<>();
        consumers.forEach(c -> channels.addAll(c.subscription().channels()));
        return channels;
    }

    public SourceState state() {
        if (subscriber == null) return SourceState.up("no pg:notify route");
        if (subscriber.actualConnection() == null) {
            String failure = lastFailure;
            return SourceState.down((everConnected ? "LISTEN connection lost, reconnecting to " : "connecting to ") + postgres.config().url()
                    + (failure == null ? "" : " (last attempt: " + failure + ")"));
        }
        return SourceState.up("listening on " + channels());
    }

    public synchronized void stop() {
        if (checkTimer >= 0) vertx.cancelTimer(checkTimer);
        checkTimer = -1;
        PgSubscriber s = subscriber;
        if (s != null) {
            subscriber = null; // before close: pending connect attempts see that they are stopped
            s.close();
        }
        if (routing != null) {
            routing.shutdown();
            try {
                routing.awaitTermination(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        claimCheck.close();
    }
}
