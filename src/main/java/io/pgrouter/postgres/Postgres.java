package io.pgrouter.postgres;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Properties;

import jakarta.inject.Singleton;

import io.pgrouter.config.PostgresConfig;

/** Plain JDBC connections to the source database, for the router's own bookkeeping (few and short-lived). */
@Singleton
public class Postgres {

    private final PostgresConfig config;
    private final PostgresLocation location;

    public Postgres(PostgresConfig config) {
        this.config = config;
        this.location = PostgresLocation.parse(config.url());
    }

    public Connection open() throws SQLException {
        Properties props = new Properties();
        props.setProperty("user", config.user());
        config.password().ifPresent(p -> props.setProperty("password", p));
        props.setProperty("ApplicationName", "pg-event-router");
        props.setProperty("tcpKeepAlive", "true");
        // a network that drops packets silently fails a connection within these, not the OS's ~15 minutes
        props.setProperty("connectTimeout", Integer.toString(config.connectTimeoutSeconds()));
        props.setProperty("socketTimeout", Integer.toString(config.socketTimeoutSeconds()));
        // batched inserts (events parked while a destination is down) go out as multi-row INSERTs: fewer statements for the server
        props.setProperty("reWriteBatchedInserts", "true");
        return DriverManager.getConnection(config.url(), props);
    }

    public PostgresConfig config() {
        return config;
    }

    public PostgresLocation location() {
        return location;
    }

    public String database() {
        return location.database();
    }

    /** The router's own schema, quoted for SQL. */
    public String schema() {
        return quoteIdent(config.schema());
    }

    public static String quoteIdent(String name) {
        return '"' + name.replace("\"", "\"\"") + '"';
    }
}
