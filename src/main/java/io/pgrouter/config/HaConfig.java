package io.pgrouter.config;

import java.time.Duration;
import java.util.Optional;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/**
 * High availability: N replicas, one active. The active one holds a {@code coordination.k8s.io/v1} Lease and runs
 * the sources and everything that sends; the others are ready standbys. Off by default (a single router, the demo).
 */
@ConfigMapping(prefix = "pgrouter.ha")
public interface HaConfig {

    /** Elect one active router on a Kubernetes Lease. Needs a service account allowed to get, create and patch leases. */
    @WithDefault("false")
    boolean enabled();

    /** The Lease's name; default {@code pgrouter-<slot>} ('_' in the slot name becomes '-'): one Lease per slot, so routers on different slots lead apart. */
    Optional<String> leaseName();

    /** The Lease's namespace; default the pod's own (the service account's namespace). */
    Optional<String> namespace();

    /** This replica's name in the Lease; default the pod name (HOSTNAME). */
    Optional<String> identity();

    /**
     * How long a Lease stays valid after its holder's last renewal: the longest a crashed leader's slot waits for a
     * successor. It must exceed renew-deadline plus the time the router needs to stop streaming (~1-2 s), so a leader
     * that cannot renew has stopped before anyone else may take over.
     */
    @WithDefault("15s")
    Duration leaseDuration();

    /** A leader that has not renewed for this long stops streaming and becomes a standby. */
    @WithDefault("10s")
    Duration renewDeadline();

    /**
     * How often the leader renews and the standbys try to acquire (a standby waits this plus up to 1.2 times it between
     * tries): with the default a released Lease is taken over within ~2 s, which keeps a rolling update's handover short.
     */
    @WithDefault("1s")
    Duration retryPeriod();
}
