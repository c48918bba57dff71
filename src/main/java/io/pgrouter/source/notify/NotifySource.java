package io.pgrouter.source.notify;

import java.util.List;
import java.util.Set;
import java.util.TreeSet;
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
import io.pgrouter.store.DeadLetterStore;
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

    private PgSubscriber subscriber;
    private ThreadPoolExecutor routing;
    private volatile boolean everConnected;

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
        if (subscriber != null) {
            consumer.subscription().channels().forEach(this::listen);
        }
    }

    @Override
    public void unsubscribe(PgConsumer consumer) {
        consumers.remove(consumer);
    }

    public synchronized void start() {
        if (consumers.isEmpty() || subscriber != null) return;
        deadLetters.ensureSchema();
        routing = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS, new LinkedBlockingQueue<>(), r -> new Thread(r, "pgrouter-notify"));
        PgConnectOptions options = new PgConnectOptions()
                .setHost(postgres.location().host())
                .setPort(postgres.location().port())
                .setDatabase(postgres.database())
                .setUser(postgres.config().user())
                .setTcpKeepAlive(true)
                .setConnectTimeout(5000)
                .addProperty("application_name", "pg-event-router-listen");
        postgres.config().password().ifPresent(options::setPassword);
        subscriber = PgSubscriber.subscriber(vertx, options)
                .reconnectPolicy(attempt -> {
                    long delay = Math.min(config.reconnectBackoffMs() << Math.min(attempt, 16), config.maxReconnectBackoffMs());
                    LOG.warnf("LISTEN connection to %s lost; reconnecting (attempt %d) in %d ms", postgres.database(), attempt + 1, delay);
                    return delay;
                });
        channels().forEach(this::listen);
        try {
            // wait a little so notifications sent right after start-up are heard; the reconnect policy goes on after
            subscriber.connect().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
            everConnected = true;
            LOG.infof("LISTENing on %s in database %s", channels(), postgres.database());
        } catch (java.util.concurrent.TimeoutException | java.util.concurrent.ExecutionException e) {
            LOG.errorf("LISTEN connection to %s failed: %s (retrying)", postgres.database(), e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void listen(String channel) {
        subscriber.channel(channel)
                .subscribeHandler(v -> {
                    everConnected = true;
                    LOG.debugf("LISTEN %s", channel);
                    // without a handler Vert.x prints the stack trace of a lost connection; the reconnect policy says it in one line
                    var connection = subscriber.actualConnection();
                    if (connection != null) connection.exceptionHandler(e -> LOG.debugf("LISTEN connection: %s", e.toString()));
                })
                .handler(payload -> routing.execute(() -> route(channel, payload)));
    }

    private void route(String channel, String payload) {
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
            return SourceState.down((everConnected ? "LISTEN connection lost, reconnecting to " : "connecting to ") + postgres.config().url());
        }
        return SourceState.up("listening on " + channels());
    }

    public synchronized void stop() {
        if (subscriber != null) {
            subscriber.close();
            subscriber = null;
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
