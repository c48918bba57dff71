package io.pgrouter.source.wal;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import io.pgrouter.event.ReplicaIdentity;
import io.pgrouter.postgres.Postgres;

/**
 * Reads the routed tables' replica identities from the catalogue at start-up: the event mapper keeps only the columns
 * PostgreSQL really sent as old values (Debezium fills the others with placeholders), and a table without
 * {@code REPLICA IDENTITY FULL} gets one warning saying what its events lack and the fix.
 */
final class ReplicaIdentities {

    // relreplident: d = default (primary key), f = full, i = index (indisreplident), n = nothing
    private static final String QUERY = """
            SELECT n.nspname || '.' || c.relname, c.relreplident::text,
                   ARRAY(SELECT a.attname::text FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
                         WHERE i.indrelid = c.oid AND ((c.relreplident = 'd' AND i.indisprimary) OR (c.relreplident = 'i' AND i.indisreplident))
                         ORDER BY a.attnum)
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname || '.' || c.relname = ANY (?)""";

    private ReplicaIdentities() {
    }

    /** {@code schema.table} → its identity, for the tables that exist. */
    static Map<String, ReplicaIdentity> read(Connection c, Set<String> tables) throws SQLException {
        Map<String, ReplicaIdentity> found = new TreeMap<>();
        try (PreparedStatement ps = c.prepareStatement(QUERY)) {
            ps.setArray(1, c.createArrayOf("text", tables.toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    Array columns = rs.getArray(3);
                    String kind = switch (rs.getString(2)) {
                        case "f" -> ReplicaIdentity.FULL;
                        case "i" -> "USING INDEX";
                        case "n" -> "NOTHING";
                        default -> "DEFAULT";
                    };
                    List<String> names = kind.equals(ReplicaIdentity.FULL) ? List.of() : Arrays.asList((String[]) columns.getArray());
                    found.put(rs.getString(1), new ReplicaIdentity(kind, names));
                }
            }
        }
        return found;
    }

    /** One warning per table without REPLICA IDENTITY FULL: what its events lack, and the statement that fixes it. */
    static List<String> warnings(Map<String, ReplicaIdentity> identities, String publication) {
        List<String> warnings = new ArrayList<>();
        identities.forEach((table, identity) -> {
            if (identity.full()) return;
            String fix = "ALTER TABLE " + sqlName(table) + " REPLICA IDENTITY FULL;";
            if (identity.none()) {
                warnings.add("table " + table + " has no replica identity (REPLICA IDENTITY " + identity.kind()
                        + (identity.kind().equals("DEFAULT") ? " without a primary key" : "") + "): PostgreSQL rejects its UPDATEs and DELETEs while it is in "
                        + "publication " + publication + "; run " + fix + " (or add a primary key), then restart the router");
            } else {
                warnings.add("table " + table + " has REPLICA IDENTITY " + identity.kind() + ": PostgreSQL does not send old rows, so its update "
                        + "events have \"before\": null and \"changed\": null (unknown) and its delete events only " + String.join(", ", identity.columns())
                        + "; for old values and exact changed columns run " + fix + " then restart the router");
            }
        });
        return warnings;
    }

    /** {@code schema.table} as SQL, quoting only the names that need it. */
    private static String sqlName(String qualified) {
        StringBuilder sql = new StringBuilder();
        for (String part : qualified.split("\\.", 2)) {
            if (sql.length() > 0) sql.append('.');
            sql.append(part.matches("[a-z_][a-z0-9_$]*") ? part : Postgres.quoteIdent(part));
        }
        return sql.toString();
    }
}
