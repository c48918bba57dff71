package io.pgrouter.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/** The route files and how changes to them are picked up. */
@ConfigMapping(prefix = "pgrouter.routes")
public interface RoutesConfig {

    /** The folder of route files ({@code *.yaml}), read at start-up and watched. */
    @WithDefault("routes")
    String dir();

    /** Apply changed, added and removed route files while running (between two batches of every source). */
    @WithDefault("true")
    boolean reload();

    /** How often the folder is compared with what runs (content hashes; a Kubernetes ConfigMap update is seen too). */
    @WithDefault("1000")
    long reloadIntervalMs();
}
