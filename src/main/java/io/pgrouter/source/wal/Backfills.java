package io.pgrouter.source.wal;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.pgrouter.postgres.Postgres;

/**
 * Backfills: a table's existing rows sent as {@code postgres.row.snapshot} events through Debezium's incremental
 * snapshots, while the stream goes on. Two tables in the router's schema: Debezium's signal table (the request, and
 * the chunk watermarks Debezium writes itself; it is published with the routes' tables, so signals arrive in the WAL
 * in commit order), and {@code backfills}, one row per request with its route, total and progress, which the router
 * keeps up to date and {@code bin/pgrouter backfill --wait} reads.
 */
public final class Backfills {

    /** Debezium's signal table (columns id, type, data), in the router's schema. */
    public static final String SIGNAL_TABLE = "debezium_signal";
    static final String TABLE = "backfills";
    /** Above this many rows (pg_class.reltuples) a backfill without a condition takes the estimate instead of count(*). */
    static final long ESTIMATE_ABOVE = 1_000_000;

    public enum Status {
        REQUESTED, RUNNING, CANCELLING, DONE, CANCELLED, FAILED;

        public boolean active() {
            return this == REQUESTED || this == RUNNING || this == CANCELLING;
        }

        String wire() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** One request and how far it got. */
    public record Backfill(String id, String table, String condition, String route, Status status, long total, boolean estimated,
            long done, Instant requestedAt, Instant startedAt, Instant updatedAt, String detail) {
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Postgres postgres;

    public Backfills(Postgres postgres) {
        this.postgres = postgres;
    }

    /** {@code schema.debezium_signal} as Debezium names it (unquoted). */
    public static String signalCollection(String schema) {
        return schema + "." + SIGNAL_TABLE;
    }

    private String signalTable() {
        return postgres.schema() + "." + SIGNAL_TABLE;
    }

    private String table() {
        return postgres.schema() + "." + TABLE;
    }

    /** Creates both tables when missing (the schema must exist: {@link io.pgrouter.delivery.DeadLetterStore#ensureSchema}). */
    public void ensureSchema() {
        try (Connection c = postgres.open(); Statement s = c.createStatement()) {
            try (ResultSet rs = s.executeQuery("SELECT to_regclass('" + signalTable().replace("'", "''") + "') IS NOT NULL AND to_regclass('"
                    + table().replace("'", "''") + "') IS NOT NULL")) {
                if (rs.next() && rs.getBoolean(1)) return; // already there: no CREATE privilege needed
            }
            s.execute("CREATE TABLE IF NOT EXISTS " + signalTable() + " (id text PRIMARY KEY, type text NOT NULL, data text)");
            s.execute("CREATE TABLE IF NOT EXISTS " + table() + " (id text PRIMARY KEY, table_name text NOT NULL, condition text, route text, "
                    + "status text NOT NULL, rows_total bigint NOT NULL, estimated boolean NOT NULL, rows_done bigint NOT NULL DEFAULT 0, "
                    + "requested_at timestamptz NOT NULL DEFAULT now(), started_at timestamptz, updated_at timestamptz NOT NULL DEFAULT now(), "
                    + "detail text)");
        } catch (SQLException e) {
            if ("42501".equals(e.getSQLState())) {
                throw new IllegalStateException("the router keeps its backfill tables in schema " + postgres.schema() + " of database "
                        + postgres.database() + ": grant " + postgres.config().user() + " CREATE on that schema, or have its owner create "
                        + SIGNAL_TABLE + " and " + TABLE + " there (see docs/backfill.md): " + e.getMessage(), e);
            }
            throw new IllegalStateException("cannot prepare the backfill tables in schema " + postgres.schema() + ": " + e.getMessage(), e);
        }
    }

    /**
     * Asks for a backfill: checks the table (exists, has a primary key, is published, no backfill of it runs), counts
     * its rows, then writes the request and Debezium's {@code execute-snapshot} signal in one transaction.
     *
     * @param table {@code schema.table}, or a table of {@code public}
     * @param condition an SQL condition on the table's rows, or null for every row
     * @param route the only route that receives the snapshot events, or null for every route reading the table
     * @param publication the WAL source's publication, which must carry the table; null when the router itself asks
     *        for a table it is about to publish (a new route's table)
     */
    public Backfill request(String table, String condition, String route, String publication) throws SQLException {
        try (Connection c = postgres.open()) {
            String qualified = check(c, table, publication);
            Optional<Backfill> running = active(c, qualified);
            if (running.isPresent()) {
                throw new IllegalStateException("a backfill of " + qualified + " is already " + running.get().status().wire() + " ("
                        + running.get().done() + " of " + running.get().total() + " rows): --wait follows it, --cancel stops it");
            }
            long[] total = total(c, qualified, condition);
            String id = UUID.randomUUID().toString();
            ObjectNode data = JSON.createObjectNode();
            data.putArray("data-collections").add(qualified);
            data.put("type", "incremental");
            if (condition != null) {
                ArrayNode conditions = data.putArray("additional-conditions");
                conditions.addObject().put("data-collection", qualified).put("filter", condition);
            }
            c.setAutoCommit(false);
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO " + table() + " (id, table_name, condition, route, status, rows_total, "
                    + "estimated) VALUES (?, ?, ?, ?, ?, ?, ?)")) {
                ps.setString(1, id);
                ps.setString(2, qualified);
                ps.setString(3, condition);
                ps.setString(4, route);
                ps.setString(5, Status.REQUESTED.wire());
                ps.setLong(6, total[0]);
                ps.setBoolean(7, total[1] == 1);
                ps.executeUpdate();
            }
            signal(c, id, "execute-snapshot", data.toString());
            c.commit();
            return byId(c, id).orElseThrow();
        }
    }

    /** Asks Debezium to stop the backfill of a table ({@code stop-snapshot}); the router marks it cancelled when Debezium has. */
    public Backfill cancel(String table) throws SQLException {
        try (Connection c = postgres.open()) {
            String qualified = qualify(c, table);
            Backfill running = active(c, qualified).orElseThrow(() -> new IllegalStateException("no backfill of " + qualified
                    + " is running: nothing to cancel"));
            ObjectNode data = JSON.createObjectNode();
            data.putArray("data-collections").add(qualified);
            data.put("type", "incremental");
            c.setAutoCommit(false);
            signal(c, running.id() + "-stop", "stop-snapshot", data.toString());
            update(c, running.id(), Status.CANCELLING, null, "cancel requested");
            c.commit();
            return byId(c, running.id()).orElseThrow();
        }
    }

    private void signal(Connection c, String id, String type, String data) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO " + signalTable() + " (id, type, data) VALUES (?, ?, ?)")) {
            ps.setString(1, id);
            ps.setString(2, type);
            ps.setString(3, data);
            ps.executeUpdate();
        }
    }

    /** Sends a stop-snapshot for a table outside a request (a backfill the router refused). */
    void stopSignal(String qualified) throws SQLException {
        ObjectNode data = JSON.createObjectNode();
        data.putArray("data-collections").add(qualified);
        data.put("type", "incremental");
        try (Connection c = postgres.open()) {
            signal(c, UUID.randomUUID() + "-stop", "stop-snapshot", data.toString());
        }
    }

    /** The table as {@code schema.table}, checked: it exists, has a primary key (incremental snapshots read in key order) and is published. */
    private String check(Connection c, String table, String publication) throws SQLException {
        String qualified = qualify(c, table);
        try (PreparedStatement ps = c.prepareStatement("SELECT count(*) FROM pg_index WHERE indrelid = ?::regclass AND indisprimary")) {
            ps.setString(1, quoted(qualified));
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                if (rs.getLong(1) == 0) {
                    throw new IllegalStateException("table " + qualified + " has no primary key: a backfill reads a table in key order, "
                            + "chunk by chunk. Add a primary key (ALTER TABLE " + qualified + " ADD PRIMARY KEY (...)) and run the backfill again");
                }
            }
        }
        if (publication == null) return qualified;
        String signals = signalCollection(postgres.config().schema());
        if (!published(c, publication, signals)) {
            throw new IllegalStateException("publication " + publication + " does not carry " + signals + ", through which backfill "
                    + "requests reach the router: start the router once (it adds the table to a publication it owns), or have the "
                    + "publication's owner run ALTER PUBLICATION " + publication + " ADD TABLE " + signals);
        }
        if (!published(c, publication, qualified)) {
            throw new IllegalStateException("no route reads table " + qualified + " (it is not in publication " + publication
                    + "): add a pg:wal route with tables: " + qualified + " (or list it in pgrouter.wal.tables), let the router "
                    + "pick it up, then run the backfill again");
        }
        return qualified;
    }

    private static boolean published(Connection c, String publication, String qualified) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT count(*) FROM pg_publication_tables WHERE pubname = ? AND schemaname || '.' || tablename = ?")) {
            ps.setString(1, publication);
            ps.setString(2, qualified);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() && rs.getLong(1) > 0;
            }
        }
    }

    /** {@code schema.table} as the catalogue spells it; a name without a schema is looked up in {@code public}. */
    static String qualify(Connection c, String table) throws SQLException {
        String name = table.contains(".") ? table : "public." + table;
        try (PreparedStatement ps = c.prepareStatement("SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n "
                + "ON n.oid = c.relnamespace WHERE c.oid = to_regclass(?) AND c.relkind IN ('r', 'p')")) {
            ps.setString(1, name);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) throw new IllegalStateException("table " + name + " does not exist in database " + c.getCatalog());
                return rs.getString(1);
            }
        }
    }

    private static String quoted(String qualified) {
        String[] parts = qualified.split("\\.", 2);
        return Postgres.quoteIdent(parts[0]) + "." + Postgres.quoteIdent(parts[1]);
    }

    /** {rows, 1 when estimated}: count(*) with the condition; without one, the planner's estimate for big tables. */
    static long[] total(Connection c, String qualified, String condition) throws SQLException {
        if (condition == null) {
            try (PreparedStatement ps = c.prepareStatement("SELECT reltuples::bigint FROM pg_class WHERE oid = ?::regclass")) {
                ps.setString(1, quoted(qualified));
                try (ResultSet rs = ps.executeQuery()) {
                    if (rs.next() && rs.getLong(1) > ESTIMATE_ABOVE) return new long[] { rs.getLong(1), 1 };
                }
            }
        }
        // a count over a big table may take longer than pgrouter.postgres.socket-timeout-seconds
        c.setNetworkTimeout(Runnable::run, 0);
        try (Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT count(*) FROM " + quoted(qualified) + (condition == null ? "" : " WHERE (" + condition + ")"))) {
            rs.next();
            return new long[] { rs.getLong(1), 0 };
        } catch (SQLException e) {
            if (condition == null) throw e;
            throw new IllegalStateException("--where \"" + condition + "\" is not a condition on " + qualified + " that PostgreSQL accepts ("
                    + e.getMessage().strip().replaceAll("\\s*\\R\\s*", " ") + "): write it as in SELECT * FROM " + qualified + " WHERE <condition>");
        }
    }

    public Optional<Backfill> byId(String id) throws SQLException {
        try (Connection c = postgres.open()) {
            return byId(c, id);
        }
    }

    private Optional<Backfill> byId(Connection c, String id) throws SQLException {
        List<Backfill> found = select(c, "WHERE id = ?", id);
        return found.isEmpty() ? Optional.empty() : Optional.of(found.get(0));
    }

    /** The backfill of a table that is requested, running or being cancelled. */
    public Optional<Backfill> active(String table) throws SQLException {
        try (Connection c = postgres.open()) {
            return active(c, qualify(c, table));
        }
    }

    private Optional<Backfill> active(Connection c, String qualified) throws SQLException {
        List<Backfill> found = select(c, "WHERE table_name = ? AND status IN ('requested', 'running', 'cancelling') ORDER BY requested_at", qualified);
        return found.isEmpty() ? Optional.empty() : Optional.of(found.get(0));
    }

    /** Every backfill not finished, oldest first. */
    public List<Backfill> active() throws SQLException {
        try (Connection c = postgres.open()) {
            return select(c, "WHERE status IN ('requested', 'running', 'cancelling') ORDER BY requested_at");
        }
    }

    private List<Backfill> select(Connection c, String where, String... args) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT id, table_name, condition, route, status, rows_total, estimated, rows_done, "
                + "requested_at, started_at, updated_at, detail FROM " + table() + " " + where)) {
            for (int i = 0; i < args.length; i++) ps.setString(i + 1, args[i]);
            List<Backfill> result = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    result.add(new Backfill(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4),
                            Status.valueOf(rs.getString(5).toUpperCase(java.util.Locale.ROOT)), rs.getLong(6), rs.getBoolean(7), rs.getLong(8),
                            instant(rs.getTimestamp(9)), instant(rs.getTimestamp(10)), instant(rs.getTimestamp(11)), rs.getString(12)));
                }
            }
            return result;
        }
    }

    private static Instant instant(Timestamp t) {
        return t == null ? null : t.toInstant();
    }

    /** Records the router's progress; a status, when given, replaces the stored one (started_at is set on the first RUNNING). */
    void update(String id, Status status, Long done, String detail) throws SQLException {
        try (Connection c = postgres.open()) {
            update(c, id, status, done, detail);
        }
    }

    private void update(Connection c, String id, Status status, Long done, String detail) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("UPDATE " + table() + " SET status = coalesce(?, status), rows_done = coalesce(?, rows_done), "
                + "detail = coalesce(?, detail), updated_at = now(), started_at = CASE WHEN ? = 'running' THEN coalesce(started_at, now()) "
                + "ELSE started_at END WHERE id = ?")) {
            ps.setString(1, status == null ? null : status.wire());
            if (done == null) ps.setNull(2, java.sql.Types.BIGINT);
            else ps.setLong(2, done);
            ps.setString(3, detail);
            ps.setString(4, status == null ? null : status.wire());
            ps.setString(5, id);
            ps.executeUpdate();
        }
    }

    /** One line a person reads: {@code 40000 of 100000 rows (40 %), 8000 rows/s, about 8 s left}. */
    public static String progress(long done, long total, boolean estimated, double rowsPerSecond) {
        StringBuilder s = new StringBuilder().append(done).append(" of ").append(estimated ? "~" : "").append(total).append(" rows");
        if (total > 0) s.append(" (").append(Math.min(100, done * 100 / total)).append(" %)");
        if (rowsPerSecond > 0) {
            s.append(", ").append(Math.round(rowsPerSecond)).append(" rows/s");
            if (total > done) s.append(", about ").append(Math.round((total - done) / rowsPerSecond)).append(" s left");
        }
        return s.toString();
    }
}
