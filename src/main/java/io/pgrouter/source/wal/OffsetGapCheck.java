package io.pgrouter.source.wal;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;

import com.fasterxml.jackson.databind.JsonNode;

import io.pgrouter.config.WalConfig;
import io.pgrouter.event.CanonicalEvent;
import io.pgrouter.postgres.Postgres;

/**
 * Detects a slot that has moved past the position the router stored (advanced or recreated by someone else):
 * the changes in between can no longer be delivered. Debezium resumes from the slot without a word; we stop.
 */
final class OffsetGapCheck {

    private final Postgres postgres;
    private final WalConfig config;

    OffsetGapCheck(Postgres postgres, WalConfig config) {
        this.postgres = postgres;
        this.config = config;
    }

    /** The reason the source must not resume, or null when the stored position is still in the slot. */
    String gap() {
        try (Connection c = postgres.open()) {
            Long stored = storedLsn(c);
            if (stored == null) return null;
            Long confirmed = null;
            try (PreparedStatement ps = c.prepareStatement(
                    "SELECT (confirmed_flush_lsn - '0/0')::bigint FROM pg_replication_slots WHERE slot_name = ?")) {
                ps.setString(1, config.slot());
                try (ResultSet rs = ps.executeQuery()) {
                    if (rs.next()) confirmed = rs.getObject(1) == null ? null : rs.getLong(1);
                }
            }
            if (confirmed == null || confirmed <= stored) return null;
            return "slot " + config.slot() + " has confirmed up to " + CanonicalEvent.formatLsn(confirmed)
                    + " but the router's stored offset is at " + CanonicalEvent.formatLsn(stored)
                    + ": the changes in between were consumed outside the router (slot advanced or recreated) and cannot be delivered."
                    + " To accept the gap and resume from the slot, delete the stored offset (DELETE FROM "
                    + postgres.schema() + ".debezium_offsets WHERE offset_key LIKE '[\"" + WalSource.engineName(config) + "\"%') and restart";
        } catch (SQLException e) {
            return null; // the database is unreachable: Debezium's own start-up reports that
        }
    }

    private Long storedLsn(Connection c) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT offset_val FROM " + postgres.schema() + ".debezium_offsets "
                + "WHERE offset_key LIKE ? ORDER BY record_insert_ts DESC, record_insert_seq DESC LIMIT 1")) {
            ps.setString(1, "[\"" + WalSource.engineName(config) + "\"%");
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) return null;
                JsonNode offset = CanonicalEvent.JSON.readTree(rs.getString(1));
                return offset.hasNonNull("lsn") ? offset.get("lsn").asLong() : null;
            }
        } catch (SQLException e) {
            if ("42P01".equals(e.getSQLState())) return null; // no offsets table yet: first start
            throw e;
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            return null;
        }
    }
}
