package io.pgrouter.install;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import io.pgrouter.postgres.Postgres;

/**
 * Installs the change trigger of {@code sql/pgrouter.sql} on a table, idempotently, and says what it did.
 * {@code notify} mode calls pg_notify (at-most-once); {@code durable} mode writes a logical-decoding message.
 */
public final class TriggerInstaller {

    public enum Mode {
        NOTIFY("pgrouter.notify_change"), DURABLE("pgrouter.emit_change");

        final String function;

        Mode(String function) {
            this.function = function;
        }

        public static Mode parse(String s) {
            try {
                return valueOf(s.toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--mode must be notify or durable, got: " + s);
            }
        }
    }

    private TriggerInstaller() {
    }

    /** Applies sql/pgrouter.sql and (re)creates the table's triggers; returns the lines to print. */
    public static List<String> install(Connection c, String qualifiedTable, Mode mode, String channel) throws SQLException, IOException {
        List<String> done = new ArrayList<>();
        String[] parts = qualifiedTable.contains(".") ? qualifiedTable.split("\\.", 2) : new String[] { "public", qualifiedTable };
        String schema = parts[0];
        String table = parts[1];
        if (channel == null || channel.isBlank()) {
            throw new IllegalArgumentException("--channel is required: the NOTIFY channel or message prefix routes subscribe to");
        }
        boolean autoCommit = c.getAutoCommit();
        c.setAutoCommit(false);
        try (Statement s = c.createStatement()) {
            s.execute(functionsSql());
            done.add("applied sql/pgrouter.sql (schema pgrouter, functions change_payload, notify_change, emit_change)");
            List<String> key = primaryKey(c, schema, table);
            String target = Postgres.quoteIdent(schema) + "." + Postgres.quoteIdent(table);
            String args = "'" + channel.replace("'", "''") + "', '" + String.join(",", key).replace("'", "''") + "'";
            String rowTrigger = "pgrouter_" + mode.name().toLowerCase(Locale.ROOT);
            String rowDef = "CREATE TRIGGER " + rowTrigger + " AFTER INSERT OR DELETE OR UPDATE ON " + target
                    + " FOR EACH ROW EXECUTE FUNCTION " + mode.function + "(" + args + ")";
            String truncateDef = "CREATE TRIGGER " + rowTrigger + "_truncate AFTER TRUNCATE ON " + target
                    + " FOR EACH STATEMENT EXECUTE FUNCTION " + mode.function + "(" + args + ")";
            for (Mode other : Mode.values()) {
                if (other == mode) continue;
                // one mode per table: switching modes must not leave the old trigger emitting too
                for (String name : List.of("pgrouter_" + other.name().toLowerCase(Locale.ROOT), "pgrouter_" + other.name().toLowerCase(Locale.ROOT) + "_truncate")) {
                    if (triggerDef(c, schema, table, name) != null) {
                        s.execute("DROP TRIGGER " + name + " ON " + target);
                        done.add("removed trigger " + name + " on " + schema + "." + table + " (switching to " + mode.name().toLowerCase(Locale.ROOT) + ")");
                    }
                }
            }
            for (String[] trigger : new String[][] { { rowTrigger, rowDef }, { rowTrigger + "_truncate", truncateDef } }) {
                String existing = triggerDef(c, schema, table, trigger[0]);
                if (existing != null && normalise(existing).equals(normalise(trigger[1]))) {
                    done.add("trigger " + trigger[0] + " on " + schema + "." + table + " already installed (channel " + channel + ")");
                    continue;
                }
                if (existing != null) {
                    s.execute("DROP TRIGGER " + trigger[0] + " ON " + target);
                }
                s.execute(trigger[1]);
                done.add((existing == null ? "created" : "replaced") + " trigger " + trigger[0] + " on " + schema + "." + table
                        + " (" + mode.name().toLowerCase(Locale.ROOT) + ", channel " + channel + ", key " + (key.isEmpty() ? "none" : String.join(",", key)) + ")");
            }
            c.commit();
        } catch (SQLException | RuntimeException e) {
            c.rollback();
            throw e;
        } finally {
            c.setAutoCommit(autoCommit);
        }
        return done;
    }

    /**
     * {@code ALTER TABLE ... REPLICA IDENTITY FULL} (or {@code DEFAULT}) unless the table has it already: with FULL the
     * WAL carries whole old rows, so update and delete events have {@code before} and an exact {@code changed}.
     */
    public static String replicaIdentity(Connection c, String qualifiedTable, String identity) throws SQLException {
        String wanted = identity == null ? "" : identity.toLowerCase(Locale.ROOT);
        if (!wanted.equals("full") && !wanted.equals("default")) {
            throw new IllegalArgumentException("--replica-identity must be full or default, got: " + identity);
        }
        String[] parts = qualifiedTable.contains(".") ? qualifiedTable.split("\\.", 2) : new String[] { "public", qualifiedTable };
        String current;
        try (PreparedStatement ps = c.prepareStatement("SELECT c.relreplident::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                + "WHERE n.nspname = ? AND c.relname = ? AND c.relkind IN ('r', 'p')")) {
            ps.setString(1, parts[0]);
            ps.setString(2, parts[1]);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) throw new IllegalArgumentException("table " + parts[0] + "." + parts[1] + " does not exist");
                current = rs.getString(1);
            }
        }
        String name = wanted.toUpperCase(Locale.ROOT);
        if (current.equals(wanted.substring(0, 1))) return "table " + parts[0] + "." + parts[1] + " already has REPLICA IDENTITY " + name;
        try (Statement s = c.createStatement()) {
            s.execute("ALTER TABLE " + Postgres.quoteIdent(parts[0]) + "." + Postgres.quoteIdent(parts[1]) + " REPLICA IDENTITY " + name);
        }
        return "set REPLICA IDENTITY " + name + " on " + parts[0] + "." + parts[1];
    }

    static String functionsSql() throws IOException {
        try (InputStream in = TriggerInstaller.class.getResourceAsStream("/sql/pgrouter.sql")) {
            if (in == null) throw new IOException("sql/pgrouter.sql is missing from the application");
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private static List<String> primaryKey(Connection c, String schema, String table) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                + "WHERE n.nspname = ? AND c.relname = ? AND c.relkind IN ('r', 'p')")) {
            ps.setString(1, schema);
            ps.setString(2, table);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) throw new IllegalArgumentException("table " + schema + "." + table + " does not exist");
            }
        }
        List<String> key = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT a.attname FROM pg_index i "
                + "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) "
                + "WHERE i.indrelid = (quote_ident(?) || '.' || quote_ident(?))::regclass AND i.indisprimary "
                + "ORDER BY array_position(i.indkey::int2[], a.attnum)")) {
            ps.setString(1, schema);
            ps.setString(2, table);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) key.add(rs.getString(1));
            }
        }
        return key;
    }

    private static String triggerDef(Connection c, String schema, String table, String name) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT pg_get_triggerdef(t.oid) FROM pg_trigger t "
                + "JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
                + "WHERE n.nspname = ? AND c.relname = ? AND t.tgname = ?")) {
            ps.setString(1, schema);
            ps.setString(2, table);
            ps.setString(3, name);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getString(1) : null;
            }
        }
    }

    /** pg_get_triggerdef quotes only where needed and spells the function bare: compare loosely. */
    private static String normalise(String def) {
        return def.replace("\"", "").replace("pgrouter.", "").replaceAll("\\s+", " ").toLowerCase(Locale.ROOT);
    }
}
