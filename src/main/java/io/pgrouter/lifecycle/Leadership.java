package io.pgrouter.lifecycle;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import org.jboss.logging.Logger;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.extended.leaderelection.LeaderCallbacks;
import io.fabric8.kubernetes.client.extended.leaderelection.LeaderElectionConfigBuilder;
import io.fabric8.kubernetes.client.extended.leaderelection.resourcelock.LeaseLock;
import io.pgrouter.config.HaConfig;

/**
 * Campaigns for one Lease with fabric8's {@code LeaderElector} (real lease-expiry semantics, lease RBAC only), and
 * campaigns again after losing it: an elector that stopped leading is finished, so a fresh one takes its place.
 */
final class Leadership {

    private static final Logger LOG = Logger.getLogger(Leadership.class);

    interface Listener {
        void leading();

        void notLeading();
    }

    private final KubernetesClient client;
    private final HaConfig config;
    private final String namespace, lease, identity;
    private final Listener listener;
    private final ScheduledExecutorService again = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "pgrouter-lease");
        t.setDaemon(true);
        return t;
    });
    private volatile CompletableFuture<?> running;
    private volatile String leader;
    private volatile boolean stopped;

    Leadership(KubernetesClient client, HaConfig config, String namespace, String lease, String identity, Listener listener) {
        this.client = client;
        this.config = config;
        this.namespace = namespace;
        this.lease = lease;
        this.identity = identity;
        this.listener = listener;
    }

    synchronized void start() {
        if (stopped) return;
        var election = new LeaderElectionConfigBuilder()
                .withName(lease)
                .withLock(new LeaseLock(namespace, lease, identity))
                .withLeaseDuration(config.leaseDuration())
                .withRenewDeadline(config.renewDeadline())
                .withRetryPeriod(config.retryPeriod())
                // on shutdown the Lease is handed back at once (its holder cleared), so a standby takes over within a retry period
                .withReleaseOnCancel(true)
                .withLeaderCallbacks(new LeaderCallbacks(listener::leading, listener::notLeading, this::newLeader))
                .build();
        CompletableFuture<?> future = client.leaderElector().withConfig(election).build().start();
        running = future;
        future.whenComplete((ok, failure) -> {
            if (stopped) return;
            // leadership lost (renewal failed or another holder): stand by and campaign again
            LOG.debugf("leader election on lease %s/%s ended; campaigning again", namespace, lease);
            again.schedule(this::start, config.retryPeriod().toMillis(), TimeUnit.MILLISECONDS);
        });
    }

    private void newLeader(String holder) {
        leader = holder;
        if (holder != null && !holder.equals(identity)) LOG.infof("standby: %s leads on lease %s/%s", holder, namespace, lease);
    }

    /** The holder last seen on the Lease (null: none yet, or released). */
    String leader() {
        return leader;
    }

    String identity() {
        return identity;
    }

    String lease() {
        return namespace + "/" + lease;
    }

    /** Stops campaigning; a held Lease is released (the caller stops the sources first). */
    synchronized void stop() {
        stopped = true;
        CompletableFuture<?> future = running;
        if (future != null) future.cancel(true);
        again.shutdownNow();
    }
}
