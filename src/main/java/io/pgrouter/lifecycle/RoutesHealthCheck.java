package io.pgrouter.lifecycle;

import jakarta.enterprise.context.ApplicationScoped;

import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.HealthCheckResponseBuilder;
import org.eclipse.microprofile.health.Readiness;

/**
 * Which route set runs (a content hash of the route files, and since when) and, while the files hold a change that
 * was refused, why. Always UP: a refused change leaves the previous routes running.
 */
@Readiness
@ApplicationScoped
public class RoutesHealthCheck implements HealthCheck {

    private final RouterLifecycle lifecycle;

    public RoutesHealthCheck(RouterLifecycle lifecycle) {
        this.lifecycle = lifecycle;
    }

    @Override
    public HealthCheckResponse call() {
        HealthCheckResponseBuilder response = HealthCheckResponse.named("pgrouter-routes").up();
        lifecycle.routesData().forEach(response::withData);
        return response.build();
    }
}
