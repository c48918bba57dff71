package io.pgrouter.testing;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/** Runs SQL on the test database as an application would: each call its own committed transaction. */
public final class Sql {

    private Sql() {
    }

    public static void exec(String... statements) {
        try (Connection c = TestServers.db.connect(); Statement s = c.createStatement()) {
            for (String sql : statements) s.execute(sql);
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    public static String text(String query) {
        try (Connection c = TestServers.db.connect(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(query)) {
            rs.next();
            return rs.getString(1);
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    public static long count(String query) {
        try (Connection c = TestServers.db.connect(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(query)) {
            rs.next();
            return rs.getLong(1);
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Events of a route waiting in the retry store (none before the store's table is made, with the first event it takes). */
    public static long waiting(String routeId) {
        if (count("SELECT count(*) FROM pg_tables WHERE schemaname = 'pgrouter' AND tablename = 'retries'") == 0) return 0;
        return count("SELECT count(*) FROM pgrouter.retries WHERE route_id = '" + routeId + "'");
    }
}
