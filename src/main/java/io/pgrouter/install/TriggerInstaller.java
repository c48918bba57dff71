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
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

import io.pgrouter.postgres.Postgres;

/**
 * Installs the change trigger of {@code sql/pgrouter.sql} on a table, idempotently, and says what it did.
 * {@code notify} mode calls pg_notify (at-most-once); {@code durable} mode writes a logical-decoding message, one per
 * changed row or, {@link Per#STATEMENT per statement}, one for all the rows a statement changed.
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

    /** How many messages a durable trigger writes: one per changed row, or one per statement carrying all its rows. */
    public enum Per {
        ROW, STATEMENT;

        public static Per parse(String s) {
            try {
                return valueOf(s.toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--per must be row or statement, got: " + s);
            }
        }
    }

    /** Every trigger name the installer may have created on a table, so switching mode removes the others. */
    private static final List<String> ALL_TRIGGERS = List.of("pgrouter_notify", "pgrouter_notify_truncate", "pgrouter_durable",
            "pgrouter_durable_insert", "pgrouter_durable_update", "pgrouter_durable_delete", "pgrouter_durable_truncate");

    /** Applies sql/pgrouter.sql and (re)creates the table's row-level triggers; returns the lines to print. */
    public static List<String> install(Connection c, String qualifiedTable, Mode mode, String channel) throws SQLException, IOException {
        return install(c, qualifiedTable, mode, Per.ROW, channel);
    }

    /** Applies sql/pgrouter.sql and (re)creates the table's triggers; returns the lines to print. */
    public static List<String> install(Connection c, String qualifiedTable, Mode mode, Per per, String channel) throws SQLException, IOException {
        List<String> done = new ArrayList<>();
        String[] parts = qualifiedTable.contains(".") ? qualifiedTable.split("\\.", 2) : new String[] { "public", qualifiedTable };
        String schema = parts[0];
        String table = parts[1];
        if (channel == null || channel.isBlank()) {
            throw new IllegalArgumentException("--channel is required: the NOTIFY channel or message prefix routes subscribe to");
        }
        if (per == Per.STATEMENT && mode != Mode.DURABLE) {
            throw new IllegalArgumentException("--per statement needs --mode durable: a NOTIFY payload is limited to 8000 bytes");
        }
        boolean autoCommit = c.getAutoCommit();
        c.setAutoCommit(false);
        try (Statement s = c.createStatement()) {
            s.execute(functionsSql());
            done.add("applied sql/pgrouter.sql (schema pgrouter, functions change_payload, notify_change, emit_change, emit_changes)");
            List<String> key = primaryKey(c, schema, table);
            String target = Postgres.quoteIdent(schema) + "." + Postgres.quoteIdent(table);
            String args = "'" + channel.replace("'", "''") + "', '" + String.join(",", key).replace("'", "''") + "'";
            String prefix = "pgrouter_" + mode.name().toLowerCase(Locale.ROOT);
            String modeName = mode.name().toLowerCase(Locale.ROOT) + (per == Per.STATEMENT ? " per statement" : "");
            Map<String, String> wanted = new LinkedHashMap<>();
            if (per == Per.ROW) {
                wanted.put(prefix, "CREATE TRIGGER " + prefix + " AFTER INSERT OR DELETE OR UPDATE ON " + target
                        + " FOR EACH ROW EXECUTE FUNCTION " + mode.function + "(" + args + ")");
            } else {
                // transition tables are allowed only on a trigger for one event: one trigger per operation
                String statement = " FOR EACH STATEMENT EXECUTE FUNCTION pgrouter.emit_changes(" + args + ")";
                wanted.put(prefix + "_insert", "CREATE TRIGGER " + prefix + "_insert AFTER INSERT ON " + target
                        + " REFERENCING NEW TABLE AS new_rows" + statement);
                wanted.put(prefix + "_update", "CREATE TRIGGER " + prefix + "_update AFTER UPDATE ON " + target
                        + " REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows" + statement);
                wanted.put(prefix + "_delete", "CREATE TRIGGER " + prefix + "_delete AFTER DELETE ON " + target
                        + " REFERENCING OLD TABLE AS old_rows" + statement);
            }
            wanted.put(prefix + "_truncate", "CREATE TRIGGER " + prefix + "_truncate AFTER TRUNCATE ON " + target
                    + " FOR EACH STATEMENT EXECUTE FUNCTION " + mode.function + "(" + args + ")");
            for (String other : ALL_TRIGGERS) {
                // one mode per table: switching modes must not leave the old trigger emitting too
                if (!wanted.containsKey(other) && triggerDef(c, schema, table, other) != null) {
                    s.execute("DROP TRIGGER " + other + " ON " + target);
                    done.add("removed trigger " + other + " on " + schema + "." + table + " (switching to " + modeName + ")");
                }
            }
            for (Map.Entry<String, String> trigger : wanted.entrySet()) {
                String existing = triggerDef(c, schema, table, trigger.getKey());
                if (existing != null && normalise(existing).equals(normalise(trigger.getValue()))) {
                    done.add("trigger " + trigger.getKey() + " on " + schema + "." + table + " already installed (channel " + channel + ")");
                    continue;
                }
                if (existing != null) {
                    s.execute("DROP TRIGGER " + trigger.getKey() + " ON " + target);
                }
                s.execute(trigger.getValue());
                done.add((existing == null ? "created" : "replaced") + " trigger " + trigger.getKey() + " on " + schema + "." + table
                        + " (" + modeName + ", channel " + channel + ", key " + (key.isEmpty() ? "none" : String.join(",", key)) + ")");
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
