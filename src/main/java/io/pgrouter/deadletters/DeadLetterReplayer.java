package io.pgrouter.deadletters;

import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import jakarta.inject.Singleton;

import org.apache.camel.CamelContext;
import org.apache.camel.Route;
import org.jboss.logging.Logger;

import io.pgrouter.delivery.DeadLetterStore;
import io.pgrouter.event.CanonicalEvent;
import io.pgrouter.event.EventBody;
import io.pgrouter.source.EventDispatcher;
import io.pgrouter.source.PgConsumer;

/**
 * Re-delivers dead letters whose replay was requested, through the route that failed them (every step of it,
 * with the event's original id). Polls the dead-letter store every 2 s.
 */
@Singleton
public class DeadLetterReplayer {

    private static final Logger LOG = Logger.getLogger(DeadLetterReplayer.class);

    private final DeadLetterStore store;
    private final EventDispatcher dispatcher;
    private ScheduledExecutorService timer;

    // while PostgreSQL is away every round fails the same way: said once
    private final io.pgrouter.log.RecurringProblem problem = new io.pgrouter.log.RecurringProblem(LOG, "replaying dead letters");

    public DeadLetterReplayer(DeadLetterStore store, EventDispatcher dispatcher) {
        this.store = store;
        this.dispatcher = dispatcher;
    }

    public synchronized void start(CamelContext camel) {
        if (timer != null) return;
        timer = Executors.newSingleThreadScheduledExecutor(r -> new Thread(r, "pgrouter-replay"));
        timer.scheduleWithFixedDelay(() -> replayDue(camel), 2, 2, TimeUnit.SECONDS);
    }

    public synchronized void stop() {
        if (timer != null) timer.shutdownNow();
        timer = null;
    }

    void replayDue(CamelContext camel) {
        try {
            for (DeadLetterStore.Replay replay : store.dueReplays(100)) {
                // another router sharing the store (the Kafka tier) replays it, or already did
                if (!store.claimReplay(replay.id())) continue;
                try {
                    replay(camel, replay);
                } finally {
                    store.releaseReplay(replay.id());
                }
            }
            problem.ok();
        } catch (java.sql.SQLException e) {
            if (!"42P01".equals(e.getSQLState())) problem.failed(String.valueOf(e.getMessage())); // 42P01: no store yet
        } catch (Exception e) {
            problem.failed(String.valueOf(e.getMessage()));
        }
    }

    private void replay(CamelContext camel, DeadLetterStore.Replay replay) throws Exception {
        Route route = camel.getRoute(replay.routeId());
        if (route == null || !(route.getConsumer() instanceof PgConsumer consumer)) {
            store.replayFailed(replay.id(), new IllegalStateException("cannot replay: no pg: route '" + replay.routeId() + "' in this router"));
            return;
        }
        CanonicalEvent event = CanonicalEvent.fromJson(replay.event());
        Exception failure;
        dispatcher.enterBatch();
        try {
            failure = consumer.deliver(new EventBody(event, replay.event())).failure();
            if (failure == null) dispatcher.flushAll();
        } finally {
            dispatcher.leaveBatch();
        }
        if (failure == null) {
            store.replayed(replay.id());
            LOG.infof("dead letter %d (event %s) replayed through route '%s'", replay.id(), event.id(), replay.routeId());
        } else {
            store.replayFailed(replay.id(), failure);
            LOG.errorf("dead letter %d (event %s) failed again in route '%s': %s", replay.id(), event.id(), replay.routeId(), failure.getMessage());
        }
    }
}
