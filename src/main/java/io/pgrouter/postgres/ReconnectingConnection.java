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
    private Connection connection;

    /** {@code onFreshConnection} runs before the retry, for state that must be re-read after a failure. */
    public ReconnectingConnection(Postgres postgres, Runnable onFreshConnection) {
        this.postgres = postgres;
        this.onFreshConnection = onFreshConnection;
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
