package io.pgrouter.sink.email;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import jakarta.inject.Singleton;

import io.pgrouter.postgres.Postgres;
import io.pgrouter.postgres.ReconnectingConnection;

/**
 * Which emails the email sink sent, in the router's schema ({@code <schema>.sent_emails}): one row per (sink, event id,
 * recipient), written once the SMTP server accepted the message. An event delivered again with the same id (after a
 * crash, from the retry store, a dead-letter replay) sends nothing to the recipients it already reached. The one gap:
 * a crash after the server accepted a message and before its row is written sends it again (at-least-once). Also runs
 * the sinks' recipients queries, read-only, on a connection of its own.
 */
@Singleton
@io.quarkus.arc.Unremovable
public class SentEmails {

    private final ReconnectingConnection connection;
    private final ReconnectingConnection queries;

    public SentEmails(Postgres postgres) {
        this.connection = new ReconnectingConnection(postgres, () -> { }, "CREATE TABLE IF NOT EXISTS " + postgres.schema()
                + ".sent_emails (sink_key text NOT NULL, event_id text NOT NULL, recipient text NOT NULL, sent_at timestamptz NOT NULL DEFAULT now(), "
                + "PRIMARY KEY (sink_key, event_id, recipient))");
        this.queries = new ReconnectingConnection(postgres);
        this.table = postgres.schema() + ".sent_emails";
    }

    private final String table;

    private <T> T call(ReconnectingConnection.Call<T> call) throws SQLException {
        return connection.call(call);
    }

    /** The recipients this sink already sent this event to. */
    public synchronized Set<String> sentTo(String sinkKey, String eventId) throws SQLException {
        if (io.pgrouter.delivery.DryRun.on()) return Set.of(); // a dry run sends every event as if for the first time
        return call(c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT recipient FROM " + table + " WHERE sink_key = ? AND event_id = ?")) {
                ps.setString(1, sinkKey);
                ps.setString(2, eventId);
                Set<String> sent = new HashSet<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) sent.add(rs.getString(1));
                }
                return sent;
            }
        });
    }

    /** Records that the SMTP server accepted the event's email to the recipient (committed when this returns). */
    public synchronized void sent(String sinkKey, String eventId, String recipient) throws SQLException {
        if (io.pgrouter.delivery.DryRun.on()) return; // and records nothing
        call(c -> {
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO " + table + " (sink_key, event_id, recipient) VALUES (?, ?, ?) "
                    + "ON CONFLICT DO NOTHING")) {
                ps.setString(1, sinkKey);
                ps.setString(2, eventId);
                ps.setString(3, recipient);
                return ps.executeUpdate();
            }
        });
    }

    /** The first column of every row of the query, in a read-only transaction; NULLs and blanks left out. */
    public List<String> recipients(String jdbc, List<String> values) throws SQLException {
        return queries.call(c -> {
            // a transaction of its own (not autocommit), so READ ONLY holds: a recipients query can never write
            c.setAutoCommit(false);
            c.setReadOnly(true);
            try (PreparedStatement ps = c.prepareStatement(jdbc)) {
                for (int i = 0; i < values.size(); i++) {
                    if (values.get(i) == null) ps.setNull(i + 1, Types.OTHER);
                    else ps.setObject(i + 1, values.get(i), Types.OTHER); // untyped: PostgreSQL takes the column's type
                }
                List<String> found = new ArrayList<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        String r = rs.getString(1);
                        if (r != null && !r.isBlank()) found.add(r.trim());
                    }
                }
                return found;
            } finally {
                c.rollback();
            }
        });
    }
}
