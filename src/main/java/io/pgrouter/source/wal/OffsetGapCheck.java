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
 * <p>
 * The stored position compared is the one Debezium confirms to the slot for that offset (its commit position,
 * {@code lsn_commit}, else {@code lsn_proc}), not the event's own {@code lsn}: a non-transactional message (the
 * heartbeat, a durable NOTIFY) written while a large transaction was open is decoded before that transaction's rows,
 * so a row's offset can carry a commit position past its own LSN, and the slot is confirmed up to it.
 */
final class OffsetGapCheck {

    /** Offset keys in the order Debezium's PostgreSQL connector picks the position it confirms (commitOffset). */
    static final java.util.List<String> CONFIRMED_KEYS = java.util.List.of("lsn_commit", "lsn_proc", "lsn");

    private final Postgres postgres;
    private final String slot;
    private final String engineName;
    private final String table;
    private final boolean failoverSlot;

    OffsetGapCheck(Postgres postgres, WalConfig config) {
        this(postgres, config.slot(), WalSource.engineName(config), config.slotFailover());
    }

    OffsetGapCheck(Postgres postgres, String slot, String engineName) {
        this(postgres, slot, engineName, false);
    }

    private OffsetGapCheck(Postgres postgres, String slot, String engineName, boolean failoverSlot) {
        this.postgres = postgres;
        this.slot = slot;
        this.engineName = engineName;
        this.table = WalSource.offsetsTable(slot);
        this.failoverSlot = failoverSlot;
    }

    /** The offset Debezium stored last for this slot, or null (first start, or the database cannot be read). */
    JsonNode storedOffset() {
        try (Connection c = postgres.open()) {
            return storedOffset(c);
        } catch (SQLException e) {
            return null; // the database is unreachable: Debezium's own start-up reports that
        }
    }

    /** The reason the source must not resume, or null when the stored position is still in the slot. */
    String gap() {
        return gap(storedOffset(), -1);
    }

    /**
     * As {@link #gap()}, for the offset read already.
     *
     * @param markedHere the furthest position this process marked processed, or -1: Debezium confirms a marked
     *        position to the slot when its offset store has taken an earlier one, so a PostgreSQL shutdown between the
     *        two leaves the slot ahead of the stored offset by what this router delivered itself
     */
    String gap(JsonNode storedOffset, long markedHere) {
        Long stored = storedOffset == null ? null : confirmedBy(storedOffset);
        try (Connection c = postgres.open()) {
            String lost = invalidated(c);
            if (lost != null) return lost;
            if (stored == null) return null;
            Long confirmed = null;
            boolean synced = false;
            // to_jsonb: the synced column exists from PostgreSQL 17 on
            try (PreparedStatement ps = c.prepareStatement("SELECT (confirmed_flush_lsn - '0/0')::bigint, coalesce(to_jsonb(s) ->> 'synced', 'false') "
                    + "FROM pg_replication_slots s WHERE slot_name = ?")) {
                ps.setString(1, slot);
                try (ResultSet rs = ps.executeQuery()) {
                    if (rs.next()) {
                        confirmed = rs.getObject(1) == null ? null : rs.getLong(1);
                        synced = Boolean.parseBoolean(rs.getString(2));
                    }
                }
            }
            if (confirmed == null || confirmed <= stored || confirmed <= markedHere) return null;
            // a failover slot synchronised to a promoted standby confirmed only what the router had delivered; the stored
            // offset reached the standby as ordinary, asynchronously replicated rows and may trail it
            if (failoverSlot && synced) return null;
            return "slot " + slot + " has confirmed up to " + CanonicalEvent.formatLsn(confirmed)
                    + " but the router's stored offset is at " + CanonicalEvent.formatLsn(stored)
                    + ": the changes in between were consumed outside the router (slot advanced or recreated) and cannot be delivered."
                    + " To accept the gap and resume from the slot, delete the stored offset (DELETE FROM "
                    + postgres.schema() + "." + table + " WHERE offset_key LIKE '[\"" + engineName + "\"%') and restart";
        } catch (SQLException e) {
            return null; // the database is unreachable: Debezium's own start-up reports that
        }
    }

    /**
     * PostgreSQL 13+ removes the WAL of a slot that fell more than max_slot_wal_keep_size behind and marks it
     * {@code wal_status = 'lost'}: nothing can be read from it again (Debezium would fail at each start).
     */
    private String invalidated(Connection c) throws SQLException {
        // to_jsonb: wal_status does not exist before PostgreSQL 13, where no slot can be invalidated
        try (PreparedStatement ps = c.prepareStatement("SELECT to_jsonb(s) ->> 'wal_status' FROM pg_replication_slots s WHERE slot_name = ?")) {
            ps.setString(1, slot);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next() || !"lost".equals(rs.getString(1))) return null;
            }
        }
        return "slot " + slot + " was invalidated by PostgreSQL (wal_status = lost): it fell more than max_slot_wal_keep_size behind and the WAL"
                + " it needed was removed, so the changes since the router's stored position cannot be delivered. To start again: SELECT"
                + " pg_drop_replication_slot('" + slot + "'); DELETE FROM " + postgres.schema() + "." + table + " WHERE offset_key LIKE '[\""
                + engineName + "\"%'; restart the router (it creates the slot anew), then backfill each table its routes read"
                + " (bin/pgrouter backfill --table schema.table)";
    }

    private JsonNode storedOffset(Connection c) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT offset_val FROM " + postgres.schema() + "." + table + " "
                + "WHERE offset_key LIKE ? ORDER BY record_insert_ts DESC, record_insert_seq DESC LIMIT 1")) {
            ps.setString(1, WalSource.offsetKeyPattern(engineName));
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? CanonicalEvent.JSON.readTree(rs.getString(1)) : null;
            }
        } catch (SQLException e) {
            if ("42P01".equals(e.getSQLState())) return null; // no offsets table yet: first start
            throw e;
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            return null;
        }
    }

    /** As {@link #confirmedBy(JsonNode)}, for a record's source offset. */
    static Long confirmedBy(java.util.Map<String, ?> offset) {
        for (String key : CONFIRMED_KEYS) {
            if (offset.get(key) instanceof Number n) return n.longValue();
        }
        return null;
    }

    /** The position Debezium confirms to the slot for a stored offset, or null when the offset holds none. */
    static Long confirmedBy(JsonNode offset) {
        for (String key : CONFIRMED_KEYS) {
            if (offset.hasNonNull(key)) return offset.get(key).asLong();
        }
        return null;
    }
}
