package io.pgrouter.lifecycle;

import jakarta.enterprise.context.ApplicationScoped;

import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.HealthCheckResponseBuilder;
import org.eclipse.microprofile.health.Readiness;

import io.pgrouter.source.SourceState;
import io.pgrouter.source.kafka.KafkaSource;
import io.pgrouter.source.notify.NotifySource;
import io.pgrouter.source.wal.WalSource;

/**
 * Readiness is DOWN while a source is disconnected or its engine has stopped, with the reason. A standby (leader
 * election on, another replica leads) is ready: it has nothing to connect, and says who leads.
 */
@Readiness
@ApplicationScoped
public class SourcesHealthCheck implements HealthCheck {

    private static final org.jboss.logging.Logger LOG = org.jboss.logging.Logger.getLogger(SourcesHealthCheck.class);

    private final WalSource wal;
    private final NotifySource notify;
    private final KafkaSource kafka;
    private final RouterLifecycle lifecycle;
    // the last status reported: a change is logged once, not every probe
    private volatile Boolean wasUp;

    public SourcesHealthCheck(WalSource wal, NotifySource notify, KafkaSource kafka, RouterLifecycle lifecycle) {
        this.kafka = kafka;
        this.wal = wal;
        this.notify = notify;
        this.lifecycle = lifecycle;
    }

    @Override
    public HealthCheckResponse call() {
        RouterLifecycle.Role role = lifecycle.role();
        HealthCheckResponseBuilder response = HealthCheckResponse.named("pgrouter-sources");
        if (lifecycle.electing()) {
            response.withData("role", role.name().toLowerCase(java.util.Locale.ROOT));
            lifecycle.leadershipData().forEach(response::withData);
        }
        // the Kafka source runs on standbys too (its consumer group, not the Lease, shares the work)
        SourceState k = kafka.state();
        if (role == RouterLifecycle.Role.STANDBY) {
            String leader = lifecycle.leadershipData().getOrDefault("leader", "none");
            return response.status(k.up()).withData("wal", "standby, leader is " + leader).withData("notify", "standby, leader is " + leader)
                    .withData("kafka", k.detail()).build();
        }
        SourceState w = wal.state();
        SourceState n = notify.state();
        boolean up = w.up() && n.up() && k.up();
        if (wasUp == null || wasUp != up) {
            if (up) {
                if (wasUp != null) LOG.info("readiness UP: the sources are connected");
            } else {
                LOG.warnf("readiness DOWN: %s", java.util.stream.Stream.of(w, n, k).filter(s -> !s.up()).map(SourceState::detail)
                        .collect(java.util.stream.Collectors.joining("; ")));
            }
            wasUp = up;
        }
        response.status(up).withData("wal", w.detail()).withData("notify", n.detail()).withData("kafka", k.detail());
        if (wal.running()) response.withData("wal retention", wal.retention());
        wal.backfillState().forEach(response::withData);
        return response.build();
    }
}
