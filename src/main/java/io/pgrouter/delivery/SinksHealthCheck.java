package io.pgrouter.delivery;

import jakarta.enterprise.context.ApplicationScoped;

import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.HealthCheckResponseBuilder;
import org.eclipse.microprofile.health.Readiness;

/**
 * Sink destinations that are down, in readiness data. The router stays UP: its other routes work, and these events
 * wait in the retry store until the destination answers again; restarting the router would not bring it back.
 */
@Readiness
@ApplicationScoped
public class SinksHealthCheck implements HealthCheck {

    private final SinkDestinations destinations;

    public SinksHealthCheck(SinkDestinations destinations) {
        this.destinations = destinations;
    }

    @Override
    public HealthCheckResponse call() {
        var down = destinations.down();
        HealthCheckResponseBuilder response = HealthCheckResponse.named("pgrouter-sinks").up().withData("destinations down", down.size());
        for (SinkDestinations.Down d : down) {
            response.withData(d.sink() + " " + d.destination(), "down since " + d.since() + "; " + d.parkedSince()
                    + " new events went to the retry store meanwhile");
        }
        return response.build();
    }
}
