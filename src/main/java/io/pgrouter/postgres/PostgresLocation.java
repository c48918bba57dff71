package io.pgrouter.postgres;

import java.net.URI;

/** Host, port and database read from a {@code jdbc:postgresql://} URL (Debezium and Vert.x want them apart). */
public record PostgresLocation(String host, int port, String database) {

    public static PostgresLocation parse(String jdbcUrl) {
        if (jdbcUrl == null || !jdbcUrl.startsWith("jdbc:postgresql://")) {
            throw new IllegalArgumentException("pgrouter.postgres.url must look like jdbc:postgresql://host:port/database, got: " + jdbcUrl);
        }
        URI uri = URI.create(jdbcUrl.substring("jdbc:".length()));
        String path = uri.getPath() == null ? "" : uri.getPath().replaceFirst("^/", "");
        if (uri.getHost() == null || path.isEmpty()) {
            throw new IllegalArgumentException("pgrouter.postgres.url needs a host and a database name: " + jdbcUrl);
        }
        return new PostgresLocation(uri.getHost(), uri.getPort() < 0 ? 5432 : uri.getPort(), path);
    }
}
