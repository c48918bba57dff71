package io.pgrouter.delivery;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;

import jakarta.inject.Singleton;

import io.pgrouter.event.CanonicalEvent;
import io.pgrouter.postgres.Postgres;
import io.pgrouter.postgres.ReconnectingConnection;

/**
 * The durable record of events a route could not deliver, in the router's schema of the source database.
 * An event is only let go (and the WAL position moved past it) once it is delivered or written here.
 */
@Singleton
public class DeadLetterStore {

    private final Postgres postgres;
    private final ReconnectingConnection connection;

    public DeadLetterStore(Postgres postgres) {
        this.postgres = postgres;
        this.connection = new ReconnectingConnection(postgres);
    }

    /** Creates the router's schema and table if missing; says which privilege is missing when it may not. */
    public synchronized void ensureSchema() {
        try (Connection c = postgres.open(); Statement s = c.createStatement()) {
            // pg_attribute, not information_schema: the latter hides tables the role has no privilege on
            try (var rs = s.executeQuery("SELECT count(*) FROM pg_attribute WHERE attrelid = to_regclass('"
                    + table().replace("'", "''") + "') AND attname = 'replayed_at'")) {
                if (rs.next() && rs.getInt(1) == 1) {
                    // sinks are named by their Kamelet: dead letters of the search sink's earlier name are listed under this one
                    s.execute("UPDATE " + table() + " SET sink = 'search-index-sink' WHERE sink = 'search-sink'");
                    return; // already there: no CREATE privilege needed
                }
            }
            // IF NOT EXISTS still asks for CREATE on the database: a role given only the schema (sql/least-privilege.sql) has none
            boolean schemaExists;
            try (var rs = s.executeQuery("SELECT to_regnamespace('" + postgres.schema().replace("'", "''") + "') IS NOT NULL")) {
                schemaExists = rs.next() && rs.getBoolean(1);
            }
            if (!schemaExists) s.execute("CREATE SCHEMA " + postgres.schema());
            s.execute("CREATE TABLE IF NOT EXISTS " + table() + " ("
                    + "id bigserial PRIMARY KEY, event_id text NOT NULL, route_id text NOT NULL, "
                    + "event jsonb NOT NULL, error text NOT NULL, failed_at timestamptz NOT NULL DEFAULT now())");
            // what a sink knew when it gave up (SinkDeliveryException); added to tables from earlier versions too
            s.execute("ALTER TABLE " + table() + " ADD COLUMN IF NOT EXISTS sink text, ADD COLUMN IF NOT EXISTS last_status int, "
                    + "ADD COLUMN IF NOT EXISTS response_excerpt text, ADD COLUMN IF NOT EXISTS attempts int, "
                    + "ADD COLUMN IF NOT EXISTS replay_requested_at timestamptz, ADD COLUMN IF NOT EXISTS replayed_at timestamptz");
        } catch (SQLException e) {
            if ("42501".equals(e.getSQLState())) {
                throw new IllegalStateException("the router keeps its tables in schema " + postgres.schema() + " of database "
                        + postgres.database() + ": grant " + postgres.config().user() + " CREATE on that schema (or on the database, if the"
                        + " schema does not exist yet), or have its owner create them (pgrouter.postgres.schema), then restart: " + e.getMessage(), e);
            }
            throw new IllegalStateException("cannot prepare the router's schema " + postgres.schema() + ": " + e.getMessage(), e);
        }
    }

    /** Writes the failed event durably; throws when it cannot, so the caller must not let the event go. */
    public void record(CanonicalEvent event, String json, String routeId, Exception failure) throws SQLException {
        insert(event.id(), json, routeId, failure);
    }

    /**
     * Keeps input a source could not turn into an event (a notification with a malformed trigger payload, a row the
     * claim check could not read), so it is not only in a log line. {@code what} says where it came from.
     */
    public void recordUnroutable(String what, String payload, Exception failure) throws SQLException {
        String json = CanonicalEvent.JSON.createObjectNode().put("unroutable", what).put("payload", payload).toString();
        insert("unroutable:" + what, json, "(source " + what + ")", failure);
    }

    private void insert(String eventId, String json, String routeId, Exception failure) throws SQLException {
        SinkDeliveryException sink = SinkDeliveryException.in(failure);
        connection.call(c -> {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO " + table()
                + " (event_id, route_id, event, error, sink, last_status, response_excerpt, attempts) VALUES (?, ?, ?::jsonb, ?, ?, ?, ?, ?)")) {
            ps.setString(1, eventId);
            ps.setString(2, routeId);
            ps.setString(3, json);
            ps.setString(4, describe(failure));
            ps.setString(5, sink == null ? null : sink.sink());
            ps.setObject(6, sink == null ? null : sink.lastStatus(), java.sql.Types.INTEGER);
            ps.setString(7, sink == null ? null : sink.responseExcerpt());
            ps.setObject(8, sink == null ? null : sink.attempts(), java.sql.Types.INTEGER);
            return ps.executeUpdate();
        }
        });
    }

    private static String describe(Exception failure) {
        StringWriter trace = new StringWriter();
        failure.printStackTrace(new PrintWriter(trace));
        String text = trace.toString();
        return text.length() > 8000 ? text.substring(0, 8000) : text;
    }

    /** A dead letter asked to be replayed: its id, the route that failed it, the event. */
    public record Replay(long id, String routeId, String event) {
    }

    /** Dead letters whose replay was requested (by {@code bin/pgrouter-dead-letters replay}) and not done yet. */
    public java.util.List<Replay> dueReplays(int limit) throws SQLException {
        return connection.call(c -> {
        java.util.List<Replay> due = new java.util.ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT id, route_id, event::text FROM " + table()
                + " WHERE replay_requested_at IS NOT NULL AND replayed_at IS NULL ORDER BY id LIMIT ?")) {
            ps.setInt(1, limit);
            try (var rs = ps.executeQuery()) {
                while (rs.next()) due.add(new Replay(rs.getLong(1), rs.getString(2), rs.getString(3)));
            }
        }
        return due;
        });
    }

    /**
     * Claims one requested replay until {@link #releaseReplay}, or returns false when another router replays it or it
     * was replayed meanwhile: routers sharing the store (the Kafka tier, every replica replaying) replay it once. A
     * PostgreSQL advisory lock of the store's session, so a router that dies leaves the request for another.
     */
    public boolean claimReplay(long id) throws SQLException {
        return connection.call(c -> {
            try (PreparedStatement lock = c.prepareStatement("SELECT pg_try_advisory_lock(hashtextextended(?, 0))")) {
                lock.setString(1, table() + '\n' + id);
                try (var rs = lock.executeQuery()) {
                    if (!rs.next() || !rs.getBoolean(1)) return false;
                }
            }
            try (PreparedStatement still = c.prepareStatement("SELECT 1 FROM " + table() + " WHERE id = ? AND replay_requested_at IS NOT NULL AND replayed_at IS NULL")) {
                still.setLong(1, id);
                try (var rs = still.executeQuery()) {
                    if (rs.next()) return true;
                }
            }
            unlock(c, id);
            return false;
        });
    }

    public void releaseReplay(long id) throws SQLException {
        connection.call(c -> {
            unlock(c, id);
            return null;
        });
    }

    private void unlock(java.sql.Connection c, long id) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT pg_advisory_unlock(hashtextextended(?, 0))")) {
            ps.setString(1, table() + '\n' + id);
            ps.execute();
        }
    }

    public void replayed(long id) throws SQLException {
        update("UPDATE " + table() + " SET replayed_at = now(), replay_requested_at = NULL WHERE id = ?", id, null);
    }

    /** The replay failed too: the dead letter stays, with this failure, until its replay is requested again. */
    public void replayFailed(long id, Exception failure) throws SQLException {
        update("UPDATE " + table() + " SET replay_requested_at = NULL, error = ?, sink = coalesce(?, sink), last_status = ?, "
                + "response_excerpt = ?, attempts = coalesce(attempts, 0) + coalesce(?, 1), failed_at = now() WHERE id = ?", id, failure);
    }

    private void update(String sql, long id, Exception failure) throws SQLException {
        connection.call(c -> {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            if (failure == null) {
                ps.setLong(1, id);
            } else {
                SinkDeliveryException sink = SinkDeliveryException.in(failure);
                ps.setString(1, describe(failure));
                ps.setString(2, sink == null ? null : sink.sink());
                ps.setObject(3, sink == null ? null : sink.lastStatus(), java.sql.Types.INTEGER);
                ps.setString(4, sink == null ? null : sink.responseExcerpt());
                ps.setObject(5, sink == null ? null : sink.attempts(), java.sql.Types.INTEGER);
                ps.setLong(6, id);
            }
            return ps.executeUpdate();
        }
        });
    }

    public String table() {
        return postgres.schema() + ".dead_letters";
    }

    public void close() {
        connection.close();
    }
}
