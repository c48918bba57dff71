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

    private final WalSource wal;
    private final NotifySource notify;

    public SourcesHealthCheck(WalSource wal, NotifySource notify) {
        this.wal = wal;
        this.notify = notify;
    }

    @Override
    public HealthCheckResponse call() {
        SourceState w = wal.state();
        SourceState n = notify.state();
        return HealthCheckResponse.named("pgrouter-sources")
                .status(w.up() && n.up())
                .withData("wal", w.detail())
                .withData("notify", n.detail())
                .build();
    }
}
