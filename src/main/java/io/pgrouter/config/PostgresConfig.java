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

    /**
     * How long opening a connection may take (pgjdbc's connectTimeout, every connection the router opens, the WAL
     * stream's included); also how long the WAL watchdog's check may wait for an answer.
     */
    @WithDefault("5")
    int connectTimeoutSeconds();

    /**
     * How long a query on the router's own connections (positions, dead letters, retries, claim checks) may wait for an
     * answer before the connection counts as dead (pgjdbc's socketTimeout); 0 waits for the operating system (about
     * 15 minutes on Linux when the network drops packets silently).
     */
    @WithDefault("20")
    int socketTimeoutSeconds();
}
