package io.pgrouter.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/** The NOTIFY source: one LISTEN connection shared by every {@code pg:notify} route. */
@ConfigMapping(prefix = "pgrouter.notify")
public interface NotifyConfig {

    /** First reconnect delay; it doubles on each failed attempt up to {@link #maxReconnectBackoffMs()}. */
    @WithDefault("100")
    long reconnectBackoffMs();

    @WithDefault("2000")
    long maxReconnectBackoffMs();

    /**
     * How often the idle LISTEN connection is checked with a query: a network that drops packets silently is otherwise
     * noticed by the operating system only (hours, with its keepalive defaults). 0 turns the check off.
     */
    @WithDefault("5000")
    long checkIntervalMs();

    /** How long a check may wait for its answer before the connection counts as lost and is opened again. */
    @WithDefault("5000")
    long checkTimeoutMs();
}
