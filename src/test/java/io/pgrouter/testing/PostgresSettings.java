package io.pgrouter.testing;

import java.util.Optional;

import io.pgrouter.config.PostgresConfig;

/** {@code pgrouter.postgres.*} for a test that builds the router's stores itself: role postgres, the defaults' timeouts. */
public record PostgresSettings(String url, Optional<String> password, String schema) implements PostgresConfig {

    public PostgresSettings(String url, String password, String schema) {
        this(url, Optional.of(password), schema);
    }

    @Override
    public String user() {
        return "postgres";
    }

    @Override
    public int connectTimeoutSeconds() {
        return 5;
    }

    @Override
    public int socketTimeoutSeconds() {
        return 20;
    }
}
