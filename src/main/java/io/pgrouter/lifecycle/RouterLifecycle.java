package io.pgrouter.lifecycle;

import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Instance;
import jakarta.inject.Singleton;

import org.apache.camel.CamelContext;
import org.apache.camel.StartupListener;
import org.apache.camel.support.LifecycleStrategySupport;
import org.jboss.logging.Logger;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.pgrouter.config.HaConfig;
import io.pgrouter.config.WalConfig;
import io.pgrouter.delivery.RetryWorker;
import io.pgrouter.source.kafka.KafkaSource;
import io.pgrouter.source.notify.NotifySource;
import io.pgrouter.source.wal.WalSource;
import io.pgrouter.deadletters.DeadLetterReplayer;
import io.quarkus.runtime.StartupEvent;

/**
 * When the router is active, and what being active starts: the WAL source, the LISTEN connection, the retry worker
 * and the dead-letter replayer, together. Routes are started by Camel; the sources follow once every route has
 * subscribed (no route misses the first events) and stop before the routes do (no event reaches a stopped route).
 * <p>
 * Alone (the default) the router is active from start-up to shutdown. With {@code pgrouter.ha.enabled} it is active
 * only while it holds the Lease: it activates on winning it, deactivates on losing it (renewal failed past the
 * deadline, so before the Lease can expire for anyone else), and on shutdown deactivates first (the batch in progress
 * finished, the position of what was delivered stored; what a sink still held is read again by the successor) and then
 * releases the Lease.
 * <p>
 * The Kafka source ({@code pg:kafka}, the second tier) is apart: every router of a consumer group reads its share of
 * the partitions, so it runs from start-up to shutdown on every replica, leading or not; the group, not the Lease,
 * decides who reads what.
 */
@Singleton
public class RouterLifecycle implements StartupListener {

    private static final Logger LOG = Logger.getLogger(RouterLifecycle.class);

    /** System property set by {@code bin/pgrouter routes check}: the folder to check instead of running. */
    static final String CHECK = "pgrouter.check.routes";

    public enum Role {
        STARTING, ACTIVE, STANDBY, STOPPED
    }

    private final WalSource wal;
    private final NotifySource notify;
    private final DeadLetterReplayer replayer;
    private final RetryWorker retries;
    private final HaConfig ha;
    private final WalConfig walConfig;
    private final Instance<KubernetesClient> kubernetes;
    private final io.pgrouter.source.EventDispatcher dispatcher;
    private final io.pgrouter.config.RoutesConfig routesConfig;
    private final io.micrometer.core.instrument.MeterRegistry metrics;
    private final KafkaSource kafka;
    private RoutesReloader reloader;

    private CamelContext camel;
    private Leadership leadership;
    private volatile Role role = Role.STARTING;
    private volatile long since = System.currentTimeMillis();

    public RouterLifecycle(WalSource wal, NotifySource notify, DeadLetterReplayer replayer, RetryWorker retries, HaConfig ha,
            WalConfig walConfig, Instance<KubernetesClient> kubernetes, io.micrometer.core.instrument.MeterRegistry metrics,
            io.pgrouter.source.EventDispatcher dispatcher, io.pgrouter.config.RoutesConfig routesConfig, KafkaSource kafka) {
        this.dispatcher = dispatcher;
        this.kafka = kafka;
        this.routesConfig = routesConfig;
        this.metrics = metrics;
        io.micrometer.core.instrument.Gauge.builder("pgrouter.active", this, l -> l.role == Role.ACTIVE ? 1 : 0)
                .description("1 while this replica runs the sources (alone, or as the Lease holder); 0 while it starts, stands by or stops")
                .register(metrics);
        this.wal = wal;
        this.notify = notify;
        this.replayer = replayer;
        this.retries = retries;
        this.ha = ha;
        this.walConfig = walConfig;
        this.kubernetes = kubernetes;
    }

    void onStart(@Observes StartupEvent started, CamelContext context) throws Exception {
        context.addLifecycleStrategy(new LifecycleStrategySupport() {
            @Override
            public void onContextStopping(CamelContext stopping) {
                stop();
            }
        });
        context.addStartupListener(this);
    }

    @Override
    public void onCamelContextStarted(CamelContext context, boolean alreadyStarted) {
        // started before this listener was added: every route has subscribed already
        if (alreadyStarted) begin(context);
    }

    @Override
    public void onCamelContextFullyStarted(CamelContext context, boolean alreadyStarted) {
        begin(context);
    }

    private synchronized void begin(CamelContext context) {
        if (camel != null || role == Role.STOPPED) return;
        camel = context;
        String check = System.getProperty(CHECK);
        if (check != null) {
            // bin/pgrouter routes check: load each route file, report, exit; nothing is started
            role = Role.STOPPED;
            int code = new RoutesCheck(context, java.nio.file.Path.of(check)).run(System.out);
            io.quarkus.runtime.Quarkus.asyncExit(code);
            return;
        }
        String events = System.getProperty(io.pgrouter.dryrun.RoutesDryRun.EVENTS);
        if (events != null) {
            // bin/pgrouter routes test: the route files on the recorded events, every sink captured; nothing is started
            role = Role.STOPPED;
            io.quarkus.runtime.Quarkus.asyncExit(dryRun(context, events));
            return;
        }
        reloader = new RoutesReloader(routesConfig, this, context, metrics);
        dispatcher.routesVersion(reloader.version());
        reloader.start();
        // on every replica: the consumer group shares the partitions, whoever holds the Lease
        kafka.start();
        if (!ha.enabled()) {
            activate();
            return;
        }
        KubernetesClient client = kubernetes.get();
        String namespace = ha.namespace().orElseGet(() -> client.getNamespace() == null ? "default" : client.getNamespace());
        String identity = ha.identity().orElseGet(() -> System.getenv().getOrDefault("HOSTNAME", "pgrouter-" + ProcessHandle.current().pid()));
        // slot names allow '_', Kubernetes object names do not
        String lease = ha.leaseName().orElse("pgrouter-" + walConfig.slot().replace('_', '-'));
        role = Role.STANDBY;
        since = System.currentTimeMillis();
        leadership = new Leadership(client, ha, namespace, lease, identity, new Leadership.Listener() {
            @Override
            public void leading() {
                LOG.infof("%s leads on lease %s: starting the sources", identity, namespace + "/" + lease);
                activate();
            }

            @Override
            public void notLeading() {
                if (deactivate(Role.STANDBY)) LOG.warnf("%s no longer leads on lease %s: sources stopped, standing by", identity, namespace + "/" + lease);
            }
        });
        LOG.infof("%s campaigning for lease %s (standby until it leads)", identity, namespace + "/" + lease);
        leadership.start();
    }

    private int dryRun(CamelContext context, String events) {
        try {
            return new io.pgrouter.dryrun.RoutesDryRun(context, dispatcher).run(java.nio.file.Path.of(System.getProperty(io.pgrouter.dryrun.RoutesDryRun.ROUTES)),
                    java.nio.file.Path.of(events), java.nio.file.Path.of(System.getProperty(io.pgrouter.dryrun.RoutesDryRun.OUT)), System.err);
        } catch (Exception e) {
            System.err.println("routes test failed: " + io.pgrouter.log.StartupProblem.describe(e));
            LOG.debug("routes test failed", e);
            return 1;
        }
    }

    private synchronized void activate() {
        if (role == Role.ACTIVE || role == Role.STOPPED) return;
        wal.start();
        notify.start();
        replayer.start(camel);
        retries.start();
        role = Role.ACTIVE;
        since = System.currentTimeMillis();
    }

    /** Stops what sends, in the order that loses nothing: no new retries or replays, then the sources (offsets stored). */
    private synchronized boolean deactivate(Role next) {
        boolean wasActive = role == Role.ACTIVE;
        if (wasActive) {
            replayer.stop();
            retries.stop();
            // on shutdown the sinks deliver what they hold first; a lost Lease stops streaming at once
            wal.stop(next == Role.STOPPED);
            notify.stop();
        }
        if (role != Role.STOPPED) {
            role = next;
            since = System.currentTimeMillis();
        }
        return wasActive;
    }

    /**
     * Applies a change of the route set between two batches of every source ({@code swap} replaces the routes). When
     * the routes now need tables the WAL stream does not carry, the stream is retired inside the boundary (a batch it
     * already read is neither routed nor marked) and restarted on the new tables after it: nothing is lost, and events
     * read since the last stored position go through the new routes (at-least-once: possibly again). Events
     * dispatched after the boundary carry {@code version}.
     */
    void applyRoutes(String version, java.util.concurrent.Callable<Void> swap) throws Exception {
        synchronized (this) {
            boolean restart = dispatcher.betweenBatches(() -> {
                swap.call();
                // events after this boundary carry the new version
                dispatcher.routesVersion(version);
                return role == Role.ACTIVE && wal.routesChanged();
            });
            if (role == Role.ACTIVE) {
                if (restart) wal.restartForRoutes();
                // a source with no route before starts now (each start is a no-op when it runs)
                wal.start();
                notify.start();
            }
            if (role != Role.STOPPED) kafka.start();
        }
    }

    /** The route set that runs (a content hash of the route files) and the last refused change, for health data. */
    public java.util.Map<String, String> routesData() {
        RoutesReloader r = reloader;
        return r == null ? java.util.Map.of() : r.healthData();
    }

    /** Shutdown: the sources stop first, then a held Lease is released for a standby to take over. */
    public void stop() {
        Leadership held;
        RoutesReloader watching = reloader;
        if (watching != null) watching.stop();
        synchronized (this) {
            if (role == Role.STOPPED) return;
            // the Kafka source first: what its routes handed the sinks is delivered and committed before the sinks stop
            kafka.stop();
            deactivate(Role.STOPPED);
            held = leadership;
        }
        if (held != null) held.stop();
    }

    public Role role() {
        return role;
    }

    public long since() {
        return since;
    }

    /** Whether leader election is on. */
    public boolean electing() {
        return ha.enabled();
    }

    /** For health data: who leads, on which Lease (empty when leader election is off). */
    public java.util.Map<String, String> leadershipData() {
        Leadership l = leadership;
        if (l == null) return java.util.Map.of();
        String leader = l.leader();
        return java.util.Map.of("lease", l.lease(), "identity", l.identity(), "leader", leader == null ? "none" : leader);
    }
}
