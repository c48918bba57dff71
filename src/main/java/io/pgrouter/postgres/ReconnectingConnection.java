package io.pgrouter.postgres;

import java.sql.Connection;
import java.sql.SQLException;

/**
 * One long-lived JDBC connection for the router's bookkeeping (dead letters, retries, claim checks) that survives a
 * PostgreSQL restart: a call that fails runs once more on a fresh connection.
 */
public final class ReconnectingConnection {

    public interface Call<T> {
        T on(Connection c) throws SQLException;
    }

    private final Postgres postgres;
    private final Runnable onFreshConnection;
    private final String[] setup;
    private boolean setUp;
    private Connection connection;

    /**
     * {@code onFreshConnection} runs before the retry, for state that must be re-read after a failure; {@code setup}
     * (say {@code CREATE TABLE IF NOT EXISTS} for a store's table) runs before the first call that gets through.
     */
    public ReconnectingConnection(Postgres postgres, Runnable onFreshConnection, String... setup) {
        this.postgres = postgres;
        this.onFreshConnection = onFreshConnection;
        this.setup = setup;
    }

    public ReconnectingConnection(Postgres postgres) {
        this(postgres, () -> { });
    }

    public synchronized <T> T call(Call<T> call) throws SQLException {
        try {
            return call.on(connection());
        } catch (SQLException first) {
            close(); // the connection may have died with a PostgreSQL restart
            onFreshConnection.run();
            return call.on(connection());
        }
    }

    private Connection connection() throws SQLException {
        if (connection == null || connection.isClosed()) connection = postgres.open();
        if (!setUp) {
            try (java.sql.Statement s = connection.createStatement()) {
                for (String sql : setup) s.execute(sql);
            }
            setUp = true;
        }
        return connection;
    }

    public synchronized void close() {
        if (connection != null) {
            try {
                connection.close();
            } catch (SQLException ignored) {
                // discarded either way
            }
            connection = null;
        }
    }
}
