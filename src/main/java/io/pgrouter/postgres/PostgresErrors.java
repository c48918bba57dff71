package io.pgrouter.postgres;

import java.sql.SQLException;

/** What a failure from PostgreSQL means for the router, read from its SQLSTATE along the cause chain. */
public final class PostgresErrors {

    private PostgresErrors() {
    }

    /** PostgreSQL refused the login: a wrong password (28P01) or no pg_hba.conf entry / no such role (28000). */
    public static SQLException loginRefused(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof SQLException e && e.getSQLState() != null && e.getSQLState().startsWith("28")) return e;
            if (t.getCause() == t) break;
        }
        return null;
    }

    /**
     * The connection broke or could not be made: the server shut down or restarted (57P01-57P03), a connection
     * exception (class 08), or the socket closed under the driver. The router reconnects by itself.
     */
    /**
     * The same failures when only their text survives: Debezium validates its configuration by connecting, and reports
     * a refused or not-yet-accepting server as a message without the SQLException (as of Debezium 3.4).
     */
    private static final java.util.regex.Pattern UNREACHABLE = java.util.regex.Pattern.compile(
            "the database system is (starting up|shutting down|in recovery mode|not yet accepting connections)"
                    + "|The connection attempt failed|Connection to \\S+ refused|Connection refused");

    public static boolean connectionLost(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof SQLException e && e.getSQLState() != null
                    && (e.getSQLState().startsWith("08") || e.getSQLState().startsWith("57P"))) {
                return true;
            }
            if (t instanceof io.vertx.pgclient.PgException e && e.getSqlState() != null
                    && (e.getSqlState().startsWith("08") || e.getSqlState().startsWith("57P"))) {
                return true;
            }
            if (t instanceof java.io.EOFException || t instanceof java.net.SocketException) return true;
            if (t.getMessage() != null && UNREACHABLE.matcher(t.getMessage()).find()) return true;
            if (t.getCause() == t) break;
        }
        return false;
    }

    /**
     * The replication slot is streamed by another connection (55006, "replication slot ... is active for PID ..."):
     * another router (a leader that is still stopping, or one started twice) holds it. PostgreSQL allows one consumer
     * per slot; the router waits for it to be released.
     */
    public static boolean slotInUse(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof SQLException e && "55006".equals(e.getSQLState())) return true;
            if (t.getMessage() != null && t.getMessage().contains("is active for PID")) return true;
            if (t.getCause() == t) break;
        }
        return false;
    }

    /**
     * PostgreSQL is shutting down or refuses connections while it does (57P01 admin_shutdown, 57P02 crash_shutdown,
     * 57P03 cannot_connect_now with "the database system is shutting down"). A fast shutdown then waits for every
     * logical walsender's client to confirm the last WAL, which a router whose position is stored in that same
     * database never can: it must let go of its replication connection.
     */
    public static boolean shuttingDown(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof SQLException e && e.getSQLState() != null) {
                String state = e.getSQLState();
                if (state.equals("57P01") || state.equals("57P02")) return true;
                if (state.equals("57P03") && e.getMessage() != null && e.getMessage().contains("shutting down")) return true;
            }
            if (t.getCause() == t) break;
        }
        return false;
    }
}
