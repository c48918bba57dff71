package io.pgrouter.source.wal;

import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The records of the last transaction before a stop that Debezium sends again although they were processed. When the
 * position it stored last is a transactional logical-decoding message (the durable trigger's), Debezium 3.4 resumes
 * from the start of that message's transaction: its resume search is keyed on {@code lsn_proc}, which a message does
 * not move (Debezium issue dbz#2004, fixed in later releases), so every message of that transaction delivered before a
 * clean stop came again. The stored offset names the transaction ({@code txId}) and the newest record processed
 * ({@code lsn}); the records of that transaction up to it are skipped (still marked processed), the rest flow as usual.
 */
final class ReplayedRecords {

    private Long txId;
    private final long lsn;

    private ReplayedRecords(Long txId, long lsn) {
        this.txId = txId;
        this.lsn = lsn;
    }

    /** From the offset stored last (null: first start, nothing to skip). */
    static ReplayedRecords after(JsonNode storedOffset) {
        if (storedOffset == null || !storedOffset.path("txId").canConvertToLong() || !storedOffset.path("lsn").canConvertToLong()) {
            return new ReplayedRecords(null, 0);
        }
        return new ReplayedRecords(storedOffset.get("txId").asLong(), storedOffset.get("lsn").asLong());
    }

    /** Whether the record (by its source offset) was processed before the stop; false for good from the first that was not. */
    boolean skip(Map<String, ?> sourceOffset) {
        if (txId == null) return false;
        if (sourceOffset.get("txId") instanceof Number tx && sourceOffset.get("lsn") instanceof Number at && tx.longValue() == txId
                && at.longValue() <= lsn) {
            return true;
        }
        txId = null;
        return false;
    }
}
