package io.pgrouter.testing;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Reads the lake as an analytics engine would: DuckDB's read_parquet / read_json_auto, in memory, one query at a time. */
public final class DuckDb {

    private DuckDb() {
    }

    /** Every row of the query, each as column label → value as DuckDB's JDBC driver returns it. */
    public static List<Map<String, Object>> query(String sql) {
        try (Connection c = DriverManager.getConnection("jdbc:duckdb:"); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            ResultSetMetaData md = rs.getMetaData();
            List<Map<String, Object>> rows = new ArrayList<>();
            while (rs.next()) {
                Map<String, Object> row = new LinkedHashMap<>();
                for (int i = 1; i <= md.getColumnCount(); i++) row.put(md.getColumnLabel(i), rs.getObject(i));
                rows.add(row);
            }
            return rows;
        } catch (SQLException e) {
            throw new IllegalStateException(sql + ": " + e.getMessage(), e);
        }
    }

    public static long count(String sql) {
        return ((Number) query(sql).get(0).values().iterator().next()).longValue();
    }

    /** Column name → DuckDB type of what the query returns. */
    public static Map<String, String> types(String sql) {
        Map<String, String> types = new LinkedHashMap<>();
        for (Map<String, Object> row : query("DESCRIBE " + sql)) types.put((String) row.get("column_name"), (String) row.get("column_type"));
        return types;
    }
}
