package io.pgrouter.source.wal;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

import org.jboss.logging.Logger;

import io.pgrouter.config.WalConfig;
import io.pgrouter.postgres.Postgres;

/**
 * Checks, before Debezium starts, what Debezium would otherwise report as a stack trace: wal_level, the
 * REPLICATION attribute, and whether the role may create the publication; each failure names what to grant.
 * Then creates the publication and the slot if they are missing (with pgrouter.wal.slot-failover, a failover slot).
 */
final class WalPreflight {

    private static final Logger LOG = Logger.getLogger(WalPreflight.class);

    private final Postgres postgres;
    private final WalConfig config;

    WalPreflight(Postgres postgres, WalConfig config) {
        this.postgres = postgres;
        this.config = config;
    }

    void check(Set<String> tables) {
        long budget = config.maxLagSeconds();
        if (budget > 0 && budget * 1000 < 2 * config.heartbeatIntervalMs()) {
            throw new IllegalStateException("pgrouter.wal.max-lag-seconds = " + budget + " is shorter than two heartbeats (pgrouter.wal.heartbeat-interval-ms = "
                    + config.heartbeatIntervalMs() + "), which move the slot on a quiet database: set it to at least "
                    + (2 * config.heartbeatIntervalMs() + 999) / 1000 + ", or to 0 to turn the time budget off");
        }
        if (!List.of("none", WalSource.PARK).contains(config.onMaxLag())) {
            throw new IllegalStateException("pgrouter.wal.on-max-lag = " + config.onMaxLag() + " is not one of none, park");
        }
        String user = postgres.config().user();
        try (Connection c = postgres.open()) {
            String walLevel = single(c, "SHOW wal_level", null);
            if (!"logical".equals(walLevel)) {
                throw new IllegalStateException("PostgreSQL at " + postgres.config().url() + " has wal_level=" + walLevel
                        + "; the WAL source needs wal_level=logical (ALTER SYSTEM SET wal_level = logical; then restart PostgreSQL)");
            }
            if (config.slotFailover()) requireFailoverSlots(c);
            boolean replication = Boolean.parseBoolean(single(c,
                    "SELECT (rolreplication OR rolsuper)::text FROM pg_roles WHERE rolname = current_user", null));
            if (!replication) {
                throw new IllegalStateException("role " + user + " lacks the REPLICATION attribute needed to create and stream from slot "
                        + config.slot() + ": ALTER ROLE " + user + " REPLICATION;");
            }
            boolean publicationExists = single(c, "SELECT 1::text FROM pg_publication WHERE pubname = ?", config.publication()) != null;
            if (!publicationExists && !tables.isEmpty()) {
                boolean mayCreate = Boolean.parseBoolean(single(c,
                        "SELECT has_database_privilege(current_user, current_database(), 'CREATE')::text", null));
                Set<String> notOwned = notOwned(c, tables);
                if (!mayCreate || !notOwned.isEmpty()) {
                    throw new IllegalStateException("role " + user + " may not create publication " + config.publication()
                            + (mayCreate ? "" : ": it lacks CREATE on database " + postgres.database())
                            + (notOwned.isEmpty() ? "" : ": it does not own " + String.join(", ", notOwned))
                            + "; have an owner run CREATE PUBLICATION " + config.publication() + " FOR TABLE " + String.join(", ", tables) + ";");
                }
            }
            // publication, then slot, before start-up completes: every change committed after the router reports
            // started is kept for it, even before Debezium connects (Debezium reuses both)
            if (!publicationExists) {
                try (Statement s = c.createStatement()) {
                    s.execute("CREATE PUBLICATION " + Postgres.quoteIdent(config.publication())
                            + (tables.isEmpty() ? "" : " FOR TABLE " + tables.stream().map(WalPreflight::quoteTable).collect(Collectors.joining(", "))));
                }
            }
            // to_jsonb: the failover column exists from PostgreSQL 17 on
            String failover = single(c, "SELECT coalesce(to_jsonb(s) ->> 'failover', 'false') FROM pg_replication_slots s WHERE slot_name = ?",
                    config.slot());
            if (failover == null) {
                single(c, config.slotFailover() ? "SELECT slot_name::text FROM pg_create_logical_replication_slot(?, 'pgoutput', false, false, true)"
                        : "SELECT slot_name::text FROM pg_create_logical_replication_slot(?, 'pgoutput')", config.slot());
            } else if (config.slotFailover() && !Boolean.parseBoolean(failover)) {
                enableFailover();
            }
        } catch (SQLException e) {
            throw new IllegalStateException("cannot check PostgreSQL at " + postgres.config().url() + " for the WAL source: " + e.getMessage(), e);
        }
    }

    private void requireFailoverSlots(Connection c) throws SQLException {
        int version = Integer.parseInt(single(c, "SHOW server_version_num", null));
        if (version < 170000) {
            throw new IllegalStateException("pgrouter.wal.slot-failover=true needs PostgreSQL 17 or newer, where a standby can keep a copy of slot "
                    + config.slot() + "; " + postgres.config().url() + " runs " + single(c, "SHOW server_version", null)
                    + ": upgrade it, or set pgrouter.wal.slot-failover=false");
        }
        if (Boolean.parseBoolean(single(c, "SELECT pg_is_in_recovery()::text", null))) {
            throw new IllegalStateException("pgrouter.wal.slot-failover=true: " + postgres.config().url() + " is a standby; point "
                    + "pgrouter.postgres.url at the primary (a failover slot is created on the primary and synchronised to the standbys)");
        }
    }

    /**
     * A slot made before pgrouter.wal.slot-failover was turned on: PostgreSQL 17 changes it in place over a replication
     * connection, which only works while no one streams from it (the router has not started Debezium yet).
     */
    private void enableFailover() {
        Properties props = new Properties();
        props.setProperty("user", postgres.config().user());
        postgres.config().password().ifPresent(p -> props.setProperty("password", p));
        props.setProperty("replication", "database");
        props.setProperty("preferQueryMode", "simple");
        props.setProperty("assumeMinServerVersion", "10");
        props.setProperty("ApplicationName", "pg-event-router");
        String command = "ALTER_REPLICATION_SLOT " + Postgres.quoteIdent(config.slot()) + " ( FAILOVER true )";
        try (Connection replication = DriverManager.getConnection(postgres.config().url(), props); Statement s = replication.createStatement()) {
            s.execute(command);
            LOG.infof("slot %s existed without failover: changed to a failover slot (%s)", config.slot(), command);
        } catch (SQLException e) {
            throw new IllegalStateException("slot " + config.slot() + " exists but is not a failover slot, and changing it failed: " + e.getMessage()
                    + ". Stop whatever streams from it, then run over a replication connection (psql \"dbname=" + postgres.database()
                    + " replication=database\"): " + command + "; or drop the slot to have the router create it anew (changes since its "
                    + "position would be lost)", e);
        }
    }

    private static String quoteTable(String qualified) {
        String[] parts = qualified.split("\\.", 2);
        return Postgres.quoteIdent(parts[0]) + "." + Postgres.quoteIdent(parts[1]);
    }

    private static Set<String> notOwned(Connection c, Set<String> tables) throws SQLException {
        Set<String> result = new TreeSet<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                + "WHERE n.nspname || '.' || c.relname = ANY (?) AND NOT pg_has_role(current_user, c.relowner, 'USAGE')")) {
            ps.setArray(1, c.createArrayOf("text", tables.toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) result.add(rs.getString(1));
            }
        }
        return result;
    }

    private static String single(Connection c, String sql, String param) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            if (param != null) ps.setString(1, param);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getString(1) : null;
            }
        }
    }
}
