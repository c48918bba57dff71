package io.pgrouter.source.wal;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.pgrouter.event.CanonicalEvent;
import io.pgrouter.postgres.Postgres;
import io.pgrouter.testing.PostgresSettings;
import io.pgrouter.testing.Sql;
import io.pgrouter.testing.TestServers;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * The start-up check for a slot moved past the stored offset, against a real slot: it compares the position
 * Debezium confirms for an offset (the commit position), so an offset whose event LSN lies behind its commit
 * position (a row of a transaction that was open while a heartbeat was written) is not mistaken for a gap.
 */
@QuarkusTest
@QuarkusTestResource(value = TestServers.class, restrictToAnnotatedClass = false)
class OffsetGapCheckTest {

    static final String SLOT = "gapcheck", ENGINE = "pgrouter-gapcheck", KEY = "[\"pgrouter-gapcheck\",{\"server\":\"pgrouter\"}]";
    OffsetGapCheck check;
    long before, confirmed;

    @BeforeEach
    void slotConfirmedPastSomeWal() {
        Sql.exec("CREATE SCHEMA IF NOT EXISTS gapcheck",
                "CREATE TABLE IF NOT EXISTS gapcheck.debezium_offsets_gapcheck (id varchar(36) PRIMARY KEY, offset_key varchar(1255), offset_val varchar(1255),"
                        + " record_insert_ts timestamp NOT NULL, record_insert_seq integer NOT NULL)",
                "SELECT pg_create_logical_replication_slot('" + SLOT + "', 'pgoutput')");
        // a transaction with an id: its commit flushes the WAL, which is as far as a slot can be advanced
        Sql.exec("SELECT pg_logical_emit_message(false, 'gapcheck', 'a')", "SELECT txid_current()");
        Sql.exec("SELECT pg_replication_slot_advance('" + SLOT + "', pg_current_wal_lsn())");
        confirmed = Long.parseLong(Sql.text("SELECT (confirmed_flush_lsn - '0/0')::bigint::text FROM pg_replication_slots WHERE slot_name = '" + SLOT + "'"));
        before = confirmed - 200; // an event written before the slot's confirmed position
        check = new OffsetGapCheck(new Postgres(new PostgresSettings(TestServers.db.jdbcUrl(), TestServers.PG_PASSWORD, "gapcheck")), SLOT, ENGINE);
    }

    @AfterEach
    void dropSlot() {
        Sql.exec("SELECT pg_drop_replication_slot('" + SLOT + "')", "DROP SCHEMA gapcheck CASCADE");
    }

    static void store(String offset) {
        Sql.exec("DELETE FROM gapcheck.debezium_offsets_gapcheck", "INSERT INTO gapcheck.debezium_offsets_gapcheck VALUES (gen_random_uuid()::text, '" + KEY + "', '"
                + offset + "', now(), 1)");
    }

    @Test
    void anOffsetWhoseCommitPositionTheSlotConfirmedIsNoGapEvenWhenItsEventLsnIsBehind() {
        store("{\"lsn\":" + before + ",\"lsn_proc\":" + before + ",\"lsn_commit\":" + confirmed + ",\"txId\":1}");
        assertThat(check.gap()).isNull();
    }

    @Test
    void aSlotConfirmedPastTheStoredCommitPositionIsAGapNamingBothPositionsAndTheFix() {
        store("{\"lsn\":" + before + ",\"lsn_proc\":" + before + ",\"lsn_commit\":" + before + ",\"txId\":1}");
        assertThat(check.gap()).contains("slot gapcheck has confirmed up to " + CanonicalEvent.formatLsn(confirmed))
                .contains("stored offset is at " + CanonicalEvent.formatLsn(before)).contains("DELETE FROM \"gapcheck\".debezium_offsets_gapcheck");
    }

    @Test
    void aSlotThisRouterConfirmedItselfBeforeItsOffsetStoreTookItIsNoGap() {
        // PostgreSQL shut down between Debezium confirming a marked position to the slot and storing it
        store("{\"lsn\":" + before + ",\"lsn_proc\":" + before + ",\"lsn_commit\":" + before + ",\"txId\":1}");
        assertThat(check.gap(check.storedOffset(), confirmed)).isNull();
        // what this process marked stops short of the slot: someone else moved it
        assertThat(check.gap(check.storedOffset(), confirmed - 1)).contains("has confirmed up to");
    }

    @Test
    void noStoredOffsetIsAFirstStartNotAGap() {
        assertThat(check.gap()).isNull();
    }

}
