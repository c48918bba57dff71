package io.pgrouter.source;

import jakarta.enterprise.context.ApplicationScoped;

import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

import io.pgrouter.source.notify.NotifySource;
import io.pgrouter.source.wal.WalSource;

/** Readiness is DOWN while a source is disconnected or its engine has stopped, with the reason. */
@Readiness
@ApplicationScoped
public class SourcesHealthCheck implements HealthCheck {

    private static final org.jboss.logging.Logger LOG = org.jboss.logging.Logger.getLogger(SourcesHealthCheck.class);

    private final WalSource wal;
    private final NotifySource notify;
    // the last status reported: a change is logged once, not every probe
    private volatile Boolean wasUp;

    public SourcesHealthCheck(WalSource wal, NotifySource notify) {
        this.wal = wal;
        this.notify = notify;
    }

    @Override
    public HealthCheckResponse call() {
        SourceState w = wal.state();
        SourceState n = notify.state();
        boolean up = w.up() && n.up();
        if (wasUp == null || wasUp != up) {
            if (up) {
                if (wasUp != null) LOG.info("readiness UP: the sources are connected");
            } else {
                LOG.warnf("readiness DOWN: %s", w.up() ? n.detail() : n.up() ? w.detail() : w.detail() + "; " + n.detail());
            }
            wasUp = up;
        }
        return HealthCheckResponse.named("pgrouter-sources")
                .status(up)
                .withData("wal", w.detail())
                .withData("notify", n.detail())
                .build();
    }
}
