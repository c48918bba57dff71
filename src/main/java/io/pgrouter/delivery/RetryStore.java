package io.pgrouter.delivery;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import jakarta.inject.Singleton;

import io.pgrouter.postgres.Postgres;
import io.pgrouter.postgres.ReconnectingConnection;

/**
 * Events a sink could not deliver yet and will try again later, in the router's schema: the source's position
 * moves on once an event is here. Ordered per (sink, subject): while one waits, later events of the same subject
 * for the same sink queue behind it. One store for every sink that retries.
 */
@Singleton
public class RetryStore {

    /** One waiting event: the oldest of its (sink, subject). */
    public record Waiting(long id, String sinkKey, String routeId, String subject, String event, int attempts, Instant firstFailedAt,
            Instant nextAttemptAt) {
    }

    private final Postgres postgres;
    // whatever a failed call did, the waiting counts are re-read from the table
    private final ReconnectingConnection connection;
    /**
     * How many events wait per (sink, subject), loaded once from the table and kept by park/remove: the hot path asks
     * it for every event, and a query per event cost ~12 % of webhook throughput. One router writes a slot's retries.
     */
    private java.util.Map<String, Integer> waiting;

    public RetryStore(Postgres postgres) {
        this.postgres = postgres;
        String table = table();
        this.connection = new ReconnectingConnection(postgres, () -> waiting = null,
                // event as text, not jsonb: a retried request carries exactly the bytes of the first attempt
                "CREATE TABLE IF NOT EXISTS " + table + " (id bigserial PRIMARY KEY, sink_key text NOT NULL, route_id text NOT NULL, "
                        + "subject text NOT NULL, event text NOT NULL, attempts int NOT NULL, first_failed_at timestamptz NOT NULL DEFAULT now(), "
                        + "next_attempt_at timestamptz NOT NULL, last_status int, last_error text)",
                "CREATE INDEX IF NOT EXISTS retries_order ON " + table + " (sink_key, subject, id)",
                // sinks are named by their Kamelet: events the search sink parked under its earlier name are re-sent under this one
                "UPDATE " + table + " SET sink_key = 'search-index-sink' || substr(sink_key, 12) WHERE sink_key LIKE 'search-sink:%'");
    }

    private String table() {
        return postgres.schema() + ".retries";
    }

    /** Runs on the store's connection (once more on a fresh one after a failure), with the table in place. */
    private <T> T call(ReconnectingConnection.Call<T> call) throws SQLException {
        return connection.call(call);
    }

    /** Whether an earlier event of this subject waits for this sink (a later one must then wait behind it). */
    public synchronized boolean hasWaiting(String sinkKey, String subject) throws SQLException {
        if (DryRun.on()) return false; // a dry run shows every event as sent, none waiting behind an earlier one
        return waiting().containsKey(key(sinkKey, subject));
    }

    private static String key(String sinkKey, String subject) {
        return sinkKey + '\n' + subject;
    }

    private java.util.Map<String, Integer> waiting() throws SQLException {
        if (waiting == null) {
            waiting = call(c -> {
                java.util.Map<String, Integer> counts = new java.util.HashMap<>();
                try (Statement s = c.createStatement();
                        ResultSet rs = s.executeQuery("SELECT sink_key, subject, count(*) FROM " + table() + " GROUP BY sink_key, subject")) {
                    while (rs.next()) counts.put(key(rs.getString(1), rs.getString(2)), rs.getInt(3));
                }
                return counts;
            });
            // and what sources parked but have not written yet: later events of those subjects must still queue behind
            parkedBySource.forEach(p -> p.rows.forEach(r -> waiting.merge(key(r.sinkKey(), r.subject()), 1, Integer::sum)));
        }
        return waiting;
    }

    /**
     * Forgets the waiting counts: the next check reads the table. Routers that share the table (the Kafka tier) call it
     * when they take over subjects another router may have parked events of, and now and then, since events this
     * router counted may have been delivered by another one.
     */
    public synchronized void reloadWaiting() {
        waiting = null;
    }

    /**
     * Claims one (sink, subject) until {@link #release}, or returns false when another router holds it: routers that
     * share the table never send the same waiting event at once, and a subject's events leave in order. A PostgreSQL
     * advisory lock of the store's session, so a router that dies releases its claims with its connection.
     */
    public synchronized boolean claim(String sinkKey, String subject) throws SQLException {
        return call(c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT pg_try_advisory_lock(hashtextextended(?, 0))")) {
                ps.setString(1, table() + '\n' + key(sinkKey, subject));
                try (ResultSet rs = ps.executeQuery()) {
                    return rs.next() && rs.getBoolean(1);
                }
            }
        });
    }

    public synchronized void release(String sinkKey, String subject) throws SQLException {
        call(c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT pg_advisory_unlock(hashtextextended(?, 0))")) {
                ps.setString(1, table() + '\n' + key(sinkKey, subject));
                ps.execute();
                return null;
            }
        });
    }

    /** {@link #claim} for several subjects of one sink in one query: the subjects claimed (the others another router holds). */
    public synchronized List<String> claimAll(String sinkKey, java.util.Collection<String> subjects) throws SQLException {
        return call(c -> {
            List<String> claimed = new ArrayList<>();
            try (PreparedStatement ps = c.prepareStatement("SELECT s FROM unnest(?::text[]) s WHERE pg_try_advisory_lock(hashtextextended(? || s, 0))")) {
                ps.setArray(1, c.createArrayOf("text", subjects.toArray()));
                ps.setString(2, table() + '\n' + sinkKey + '\n');
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) claimed.add(rs.getString(1));
                }
            }
            return claimed;
        });
    }

    /** {@link #release} for several subjects of one sink in one query. */
    public synchronized void releaseAll(String sinkKey, java.util.Collection<String> subjects) throws SQLException {
        if (subjects.isEmpty()) return;
        call(c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT count(pg_advisory_unlock(hashtextextended(? || s, 0))) FROM unnest(?::text[]) s")) {
                ps.setString(1, table() + '\n' + sinkKey + '\n');
                ps.setArray(2, c.createArrayOf("text", subjects.toArray()));
                ps.execute();
                return null;
            }
        });
    }

    /** The oldest waiting events of these subjects of one sink, at most {@code limit}, oldest first (each subject's in order). */
    public synchronized List<Waiting> oldest(String sinkKey, java.util.Collection<String> subjects, int limit) throws SQLException {
        if (subjects.isEmpty()) return List.of();
        return call(c -> {
            List<Waiting> events = new ArrayList<>();
            try (PreparedStatement ps = c.prepareStatement("SELECT id, sink_key, route_id, subject, event, attempts, first_failed_at, next_attempt_at FROM "
                    + table() + " WHERE sink_key = ? AND subject = ANY (?) ORDER BY id LIMIT ?")) {
                ps.setString(1, sinkKey);
                ps.setArray(2, c.createArrayOf("text", subjects.toArray()));
                ps.setInt(3, limit);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) events.add(waiting(rs));
                }
            }
            return events;
        });
    }

    /**
     * Makes every event waiting for this sink due now: its destination answers again, and the backoff its events
     * earned while it was down (each failed probe doubled it) is no reason to wait longer.
     */
    public synchronized void dueNow(String sinkKey) throws SQLException {
        call(c -> {
            try (PreparedStatement ps = c.prepareStatement("UPDATE " + table() + " SET next_attempt_at = now() WHERE sink_key = ? AND next_attempt_at > now()")) {
                ps.setString(1, sinkKey);
                return ps.executeUpdate();
            }
        });
    }

    /** {@link #remove} for several events in one statement. */
    public synchronized void removeAll(java.util.Collection<Long> ids) throws SQLException {
        if (ids.isEmpty()) return;
        List<String> removed = call(c -> {
            List<String> keys = new ArrayList<>();
            try (PreparedStatement ps = c.prepareStatement("DELETE FROM " + table() + " WHERE id = ANY (?) RETURNING sink_key, subject")) {
                ps.setArray(1, c.createArrayOf("bigint", ids.toArray()));
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) keys.add(key(rs.getString(1), rs.getString(2)));
                }
            }
            return keys;
        });
        if (waiting != null) {
            for (String k : removed) waiting.computeIfPresent(k, (x, n) -> n > 1 ? n - 1 : null);
        }
    }

    /** Stores the event durably (committed when this returns). */
    public synchronized void park(String sinkKey, String routeId, String subject, String event, int attempts, Instant next, Integer status,
            String error) throws SQLException {
        call(c -> {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO " + table()
                + " (sink_key, route_id, subject, event, attempts, next_attempt_at, last_status, last_error) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")) {
            ps.setString(1, sinkKey);
            ps.setString(2, routeId);
            ps.setString(3, subject);
            ps.setString(4, event);
            ps.setInt(5, attempts);
            ps.setTimestamp(6, Timestamp.from(next));
            ps.setObject(7, status, java.sql.Types.INTEGER);
            ps.setString(8, error);
            return ps.executeUpdate();
        }
        });
        if (waiting != null) waiting.merge(key(sinkKey, subject), 1, Integer::sum);
    }

    /** An event parked by a source, written at that source's batch end (see {@link #parkAtBatchEnd}). */
    private record Parked(String sinkKey, String routeId, String subject, String event, String error, long sequence, long atNanos) {
    }

    /** What one source parked and has not written yet, and a failure to write it that its next batch end must report. */
    private static final class Pending {
        final List<Parked> rows = new ArrayList<>();
        SQLException failure;
    }

    /** Parked events are written when this many wait, or when the oldest waited this long (one insert per batch at most). */
    static final int PARKED_MAX_ROWS = 2000;
    static final long PARKED_LINGER_MS = 200;

    private final SourceBuffers<Pending> parkedBySource = new SourceBuffers<>(Pending::new);

    /**
     * Parks an event due now, written with the calling source's other parked events in one statement ({@link
     * #writeParked()}, {@link #writeParkedDue()}) before the source's position passes it: a destination that is down
     * costs the source one insert per batch or linger, not one per event. Later events of the subject queue behind it
     * at once.
     */
    public synchronized void parkAtBatchEnd(String sinkKey, String routeId, String subject, String event, String error) throws SQLException {
        waiting(); // the counts, loaded before they count an event the table does not hold yet
        parkedBySource.mine().rows.add(new Parked(sinkKey, routeId, subject, event, error, BatchBoundary.routing(), System.nanoTime()));
        waiting.merge(key(sinkKey, subject), 1, Integer::sum);
    }

    /** Writes everything the calling source parked; throws when it cannot (the source then delivers those events again). */
    public synchronized void writeParked() throws SQLException {
        parkedBySource.discardEnded(p -> p.rows.clear());
        Pending mine = parkedBySource.mineIfAny();
        if (mine != null) write(mine);
    }

    /**
     * The calling source's batch end: writes what it parked once enough waits or the oldest waited long enough, else
     * keeps it and returns the {@link BatchBoundary#SEQUENCE} of the oldest (the source holds its position before it).
     */
    public synchronized long writeParkedDue() throws SQLException {
        parkedBySource.discardEnded(p -> p.rows.clear());
        Pending mine = parkedBySource.mineIfAny();
        if (mine == null) return Long.MAX_VALUE;
        if (mine.failure != null) {
            SQLException failed = mine.failure;
            mine.failure = null;
            throw failed;
        }
        if (mine.rows.isEmpty()) return Long.MAX_VALUE;
        Parked oldest = mine.rows.get(0);
        if (mine.rows.size() < PARKED_MAX_ROWS && oldest.sequence() > 0 && System.nanoTime() - oldest.atNanos() < PARKED_LINGER_MS * 1_000_000) {
            return oldest.sequence();
        }
        write(mine);
        return Long.MAX_VALUE;
    }

    /** Writes what any source parked longer ago than the linger, even when its source ends no batch (a quiet database). */
    public synchronized void writeLingering() {
        parkedBySource.forEach(p -> {
            if (p.rows.isEmpty() || System.nanoTime() - p.rows.get(0).atNanos() < PARKED_LINGER_MS * 1_000_000) return;
            try {
                write(p);
            } catch (SQLException e) {
                p.failure = e; // the source's next batch end throws: its position stays before these events
            }
        });
    }

    private void write(Pending pending) throws SQLException {
        if (pending.rows.isEmpty()) return;
        List<Parked> rows = List.copyOf(pending.rows);
        pending.rows.clear();
        try {
            call(c -> {
                boolean auto = c.getAutoCommit();
                c.setAutoCommit(false);
                try (PreparedStatement ps = c.prepareStatement("INSERT INTO " + table()
                        + " (sink_key, route_id, subject, event, attempts, next_attempt_at, last_error) VALUES (?, ?, ?, ?, 0, now(), ?)")) {
                    for (Parked p : rows) {
                        ps.setString(1, p.sinkKey());
                        ps.setString(2, p.routeId());
                        ps.setString(3, p.subject());
                        ps.setString(4, p.event());
                        ps.setString(5, p.error());
                        ps.addBatch();
                    }
                    ps.executeBatch();
                    c.commit();
                } catch (SQLException e) {
                    c.rollback();
                    throw e;
                } finally {
                    c.setAutoCommit(auto);
                }
                return null;
            });
        } catch (SQLException e) {
            waiting = null; // counted events that are not in the table: re-read
            throw e;
        }
    }

    /** The oldest waiting event of every (sink, subject) that is due, but for the sinks in {@code except}. */
    public synchronized List<Waiting> dueHeads(java.util.Collection<String> except) throws SQLException {
        return call(c -> {
            List<Waiting> heads = new ArrayList<>();
            try (PreparedStatement ps = c.prepareStatement("SELECT * FROM (SELECT DISTINCT ON (sink_key, subject) id, sink_key, route_id, subject, "
                    + "event, attempts, first_failed_at, next_attempt_at FROM " + table() + " WHERE sink_key <> ALL (?) ORDER BY sink_key, subject, id) h "
                    + "WHERE next_attempt_at <= now()")) {
                ps.setArray(1, c.createArrayOf("text", except.toArray()));
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) heads.add(waiting(rs));
                }
            }
            return heads;
        });
    }

    /**
     * One due event of the sink that is the oldest of its subject (the longest-waiting first), or null: the probe of a
     * destination that is down, found without reading every waiting event.
     */
    public synchronized Waiting probe(String sinkKey) throws SQLException {
        return call(c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT id, sink_key, route_id, subject, event, attempts, first_failed_at, next_attempt_at FROM "
                    + table() + " r WHERE sink_key = ? AND next_attempt_at <= now() AND NOT EXISTS (SELECT 1 FROM " + table()
                    + " e WHERE e.sink_key = r.sink_key AND e.subject = r.subject AND e.id < r.id) ORDER BY id LIMIT 1")) {
                ps.setString(1, sinkKey);
                try (ResultSet rs = ps.executeQuery()) {
                    return rs.next() ? waiting(rs) : null;
                }
            }
        });
    }

    /** The oldest waiting event of one (sink, subject), or null when none waits. */
    public synchronized Waiting head(String sinkKey, String subject) throws SQLException {
        return call(c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT id, sink_key, route_id, subject, event, attempts, first_failed_at, next_attempt_at FROM "
                    + table() + " WHERE sink_key = ? AND subject = ? ORDER BY id LIMIT 1")) {
                ps.setString(1, sinkKey);
                ps.setString(2, subject);
                try (ResultSet rs = ps.executeQuery()) {
                    return rs.next() ? waiting(rs) : null;
                }
            }
        });
    }

    private static Waiting waiting(ResultSet rs) throws SQLException {
        return new Waiting(rs.getLong(1), rs.getString(2), rs.getString(3), rs.getString(4), rs.getString(5), rs.getInt(6),
                rs.getTimestamp(7).toInstant(), rs.getTimestamp(8).toInstant());
    }

    public synchronized void remove(long id) throws SQLException {
        String removed = call(c -> {
            try (PreparedStatement ps = c.prepareStatement("DELETE FROM " + table() + " WHERE id = ? RETURNING sink_key, subject")) {
                ps.setLong(1, id);
                try (ResultSet rs = ps.executeQuery()) {
                    return rs.next() ? key(rs.getString(1), rs.getString(2)) : null;
                }
            }
        });
        if (removed != null && waiting != null) waiting.computeIfPresent(removed, (k, n) -> n > 1 ? n - 1 : null);
    }

    public synchronized void reschedule(long id, int attempts, Instant next, Integer status, String error) throws SQLException {
        call(c -> {
        try (PreparedStatement ps = c.prepareStatement("UPDATE " + table()
                + " SET attempts = ?, next_attempt_at = ?, last_status = ?, last_error = ? WHERE id = ?")) {
            ps.setInt(1, attempts);
            ps.setTimestamp(2, Timestamp.from(next));
            ps.setObject(3, status, java.sql.Types.INTEGER);
            ps.setString(4, error);
            ps.setLong(5, id);
            return ps.executeUpdate();
        }
        });
    }

    public synchronized long size() throws SQLException {
        return call(c -> {
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT count(*) FROM " + table())) {
                rs.next();
                return rs.getLong(1);
            }
        });
    }
}
