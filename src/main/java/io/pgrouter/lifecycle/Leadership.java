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
    /** The API server unreachable or refusing: said once when it starts or changes, and once when it is over. */
    private final io.pgrouter.log.RecurringProblem apiProblem = new io.pgrouter.log.RecurringProblem(LOG, "reading and renewing the Lease");
    private volatile String leader;
    private volatile boolean stopped;
    /** Leading, and when the Lease was last written by this replica (acquired or renewed). */
    private volatile boolean leading;
    private boolean fencing;
    private volatile long renewedAt;

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
        if (!fencing) {
            fencing = true;
            again.scheduleWithFixedDelay(this::checkRenewDeadline, 250, 250, TimeUnit.MILLISECONDS);
        }
        var election = new LeaderElectionConfigBuilder()
                .withName(lease)
                .withLock(new ReportingLock(new LeaseLock(namespace, lease, identity), apiProblem, this::written))
                .withLeaseDuration(config.leaseDuration())
                .withRenewDeadline(config.renewDeadline())
                .withRetryPeriod(config.retryPeriod())
                // on shutdown the Lease is handed back at once (its holder cleared), so a standby takes over within a retry period
                .withReleaseOnCancel(true)
                .withLeaderCallbacks(new LeaderCallbacks(this::startedLeading, this::stoppedLeading, this::newLeader))
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

    private synchronized void startedLeading() {
        renewedAt = System.currentTimeMillis();
        if (leading || stopped) return;
        leading = true;
        listener.leading();
    }

    private synchronized void stoppedLeading() {
        if (!leading) return;
        leading = false;
        listener.notLeading();
    }

    /** The Lease was written with this replica as holder: renewed (or acquired); leading again if the fence had stopped it. */
    private void written() {
        renewedAt = System.currentTimeMillis();
        if (!leading) startedLeading();
    }

    /**
     * Fencing that does not depend on the API server answering: fabric8's elector checks its renew deadline only
     * between two calls, and a call to an API server that does not answer can take longer than the Lease itself (its
     * HTTP client's timeouts and retries). So the deadline is also checked here, on a clock of its own: past it the
     * sources stop, whatever the elector is waiting for. The elector goes on: if it renews after all, the sources
     * start again; if it gives up, a fresh elector campaigns.
     */
    private void checkRenewDeadline() {
        if (!leading || stopped) return;
        long since = System.currentTimeMillis() - renewedAt;
        if (since <= config.renewDeadline().toMillis()) return;
        LOG.warnf("%s could not renew lease %s for %d ms: stopping the sources before the Lease can expire", identity, lease(), since);
        stoppedLeading();
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

    /**
     * The Lease as fabric8's elector reads and writes it, with failures reported once per outage (the elector itself
     * logs each failed attempt, every retry period; its logger is quiet in application.properties). A 409 Conflict is
     * no problem: another replica updated the Lease first.
     */
    static final class ReportingLock implements io.fabric8.kubernetes.client.extended.leaderelection.resourcelock.Lock {
        private final io.fabric8.kubernetes.client.extended.leaderelection.resourcelock.Lock lock;
        private final io.pgrouter.log.RecurringProblem problem;
        private final Runnable written;

        ReportingLock(io.fabric8.kubernetes.client.extended.leaderelection.resourcelock.Lock lock, io.pgrouter.log.RecurringProblem problem,
                Runnable written) {
            this.lock = lock;
            this.problem = problem;
            this.written = written;
        }

        private <T> T call(java.util.function.Supplier<T> call) {
            try {
                T result = call.get();
                problem.ok();
                return result;
            } catch (io.fabric8.kubernetes.client.KubernetesClientException e) {
                if (e.getCode() != 409) problem.failed(e.getCode() > 0 ? "HTTP " + e.getCode() + ": " + (e.getStatus() != null ? e.getStatus().getMessage() : e.getMessage())
                        : rootMessage(e));
                throw e;
            }
        }

        private static String rootMessage(Throwable e) {
            Throwable t = e;
            while (t.getCause() != null && t.getCause() != t) t = t.getCause();
            return t.getClass().getSimpleName() + ": " + t.getMessage();
        }

        @Override
        public io.fabric8.kubernetes.client.extended.leaderelection.resourcelock.LeaderElectionRecord get(KubernetesClient client) {
            return call(() -> lock.get(client));
        }

        @Override
        public void create(KubernetesClient client, io.fabric8.kubernetes.client.extended.leaderelection.resourcelock.LeaderElectionRecord record) {
            call(() -> {
                lock.create(client, record);
                if (identity().equals(record.getHolderIdentity())) written.run();
                return null;
            });
        }

        @Override
        public void update(KubernetesClient client, io.fabric8.kubernetes.client.extended.leaderelection.resourcelock.LeaderElectionRecord record) {
            call(() -> {
                lock.update(client, record);
                if (identity().equals(record.getHolderIdentity())) written.run();
                return null;
            });
        }

        @Override
        public String identity() {
            return lock.identity();
        }

        @Override
        public String describe() {
            return lock.describe();
        }
    }
}
