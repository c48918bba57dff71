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
}
