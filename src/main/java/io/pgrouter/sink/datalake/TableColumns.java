package io.pgrouter.sink.datalake;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import io.pgrouter.postgres.Postgres;
import io.pgrouter.postgres.ReconnectingConnection;

/**
 * Column types of the tables the lake writes as Parquet, read from PostgreSQL's catalogue (events carry values, not
 * types). Cached per table; {@link #refresh} re-reads a table when an event carries a column the cache lacks.
 */
final class TableColumns {

    private static final String QUERY = """
            SELECT a.attname, t.typname, a.atttypmod, e.typname
            FROM pg_attribute a
            JOIN pg_type t ON t.oid = a.atttypid
            LEFT JOIN pg_type e ON e.oid = t.typelem AND t.typcategory = 'A'
            WHERE a.attrelid = to_regclass(?) AND a.attnum > 0 AND NOT a.attisdropped
            ORDER BY a.attnum""";

    private final ReconnectingConnection connection;
    private final Map<String, Map<String, PgType>> cache = new ConcurrentHashMap<>();

    TableColumns(Postgres postgres) {
        this.connection = new ReconnectingConnection(postgres);
    }

    /** The table's columns in table order; empty for a table that no longer exists. */
    Map<String, PgType> of(String schema, String table) throws SQLException {
        String key = schema + "." + table;
        Map<String, PgType> columns = cache.get(key);
        return columns != null ? columns : refresh(schema, table);
    }

    Map<String, PgType> refresh(String schema, String table) throws SQLException {
        Map<String, PgType> columns = connection.call(c -> {
            try (PreparedStatement ps = c.prepareStatement(QUERY)) {
                ps.setString(1, Postgres.quoteIdent(schema) + "." + Postgres.quoteIdent(table));
                Map<String, PgType> found = new LinkedHashMap<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) found.put(rs.getString(1), PgType.fromCatalog(rs.getString(2), rs.getInt(3), rs.getString(4)));
                }
                return Collections.unmodifiableMap(found);
            }
        });
        cache.put(schema + "." + table, columns);
        return columns;
    }

    void close() {
        connection.close();
    }
}
