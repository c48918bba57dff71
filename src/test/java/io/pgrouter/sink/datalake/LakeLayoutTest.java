package io.pgrouter.sink.datalake;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** Partition folders, column types from the catalogue and the event fields, from plain values. */
class LakeLayoutTest {

    @Test
    void foldersAreHiveStyleByUtcCommitTimeWithEachLevelOptional() {
        String time = "2026-11-25T07:05:09.123456Z";
        assertThat(Partitioning.parse("table,date,hour").folder("shop.orders", time)).isEqualTo("shop.orders/dt=2026-11-25/hour=07/");
        assertThat(Partitioning.parse("table, date").folder("shop.orders", time)).isEqualTo("shop.orders/dt=2026-11-25/");
        assertThat(Partitioning.parse("date,hour").folder("shop.orders", time)).isEqualTo("dt=2026-11-25/hour=07/");
        assertThat(Partitioning.parse("none").folder("shop.orders", time)).isEmpty();
        assertThatThrownBy(() -> Partitioning.parse("table,month")).hasMessageContaining("'month'");
    }

    @Test
    void numericsKeepPrecisionAndScaleOrStayExactAsText() {
        // atttypmod of numeric(p,s) is ((p << 16) | s) + 4; unconstrained numeric is -1
        assertThat(PgType.fromCatalog("numeric", ((12 << 16) | 2) + 4, null)).isEqualTo(new PgType(PgType.Kind.DECIMAL, 12, 2, null));
        assertThat(PgType.fromCatalog("numeric", -1, null)).isEqualTo(PgType.TEXT);
        assertThat(PgType.fromCatalog("numeric", ((60 << 16) | 2) + 4, null)).as("wider than Parquet's 38 digits").isEqualTo(PgType.TEXT);
        assertThat(PgType.fromCatalog("_int4", -1, "int4")).isEqualTo(new PgType(PgType.Kind.ARRAY, 0, 0, PgType.of(PgType.Kind.INT)));
        assertThat(PgType.fromCatalog("interval", -1, null)).isEqualTo(PgType.TEXT);
    }

    @Test
    void eventFieldsAreAKnownListAndColumnNamesBecomeParquetNames() {
        assertThat(MetaField.parse(MetaField.DEFAULT)).containsExactly(MetaField.EVENT_ID, MetaField.OP, MetaField.LSN, MetaField.COMMIT_TIME,
                MetaField.UNCHANGED);
        // _unchanged is always written: without it a NULL could be a value or a column PostgreSQL did not send
        assertThat(MetaField.parse("_event_id, txid")).containsExactly(MetaField.EVENT_ID, MetaField.TXID, MetaField.UNCHANGED);
        assertThatThrownBy(() -> MetaField.parse("_event_id,_nope")).hasMessageContaining("'_nope'");
        assertThat(ParquetRows.avroName("Order Date")).isEqualTo("Order_Date");
        assertThat(ParquetRows.avroName("2fa")).isEqualTo("_2fa");
    }
}
