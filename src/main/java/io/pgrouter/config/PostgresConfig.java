package io.pgrouter.config;

import java.util.Optional;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/** Where the router finds PostgreSQL: one database, read by both sources. */
@ConfigMapping(prefix = "pgrouter.postgres")
public interface PostgresConfig {

    /** JDBC URL, e.g. {@code jdbc:postgresql://db:5432/shop}. */
    String url();

    @WithDefault("postgres")
    String user();

    Optional<String> password();

    /** Schema the router keeps its own tables in (offsets, dead letters). */
    @WithDefault("pgrouter")
    String schema();
}
