package io.pgrouter.source.wal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Properties;
import java.util.Set;

import org.junit.jupiter.api.Test;

import io.pgrouter.config.PostgresConfig;
import io.pgrouter.config.WalConfig;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;

class BackfillProgressTest {

    @Test
    void progressSaysRowsPercentRateAndTimeLeft() {
        assertThat(Backfills.progress(40_000, 100_000, false, 8_000)).isEqualTo("40000 of 100000 rows (40 %), 8000 rows/s, about 8 s left");
        assertThat(Backfills.progress(0, 2_000_000, true, 0)).isEqualTo("0 of ~2000000 rows (0 %)");
        // rows sent again after a restart count twice: never more than 100 %
        assertThat(Backfills.progress(120, 100, false, 10)).isEqualTo("120 of 100 rows (100 %), 10 rows/s");
        assertThat(Backfills.progress(0, 0, false, 0)).isEqualTo("0 of 0 rows");
    }

    @Test
    void notificationsNameTablesWithOrWithoutTheDatabase() {
        assertThat(BackfillProgress.tableName("shop.public.orders")).isEqualTo("public.orders");
        assertThat(BackfillProgress.tableName("public.orders")).isEqualTo("public.orders");
    }

    @Test
    void theSignalTableIsPublishedAndDebeziumReadsSignalsFromIt() {
        SmallRyeConfig config = new SmallRyeConfigBuilder().withMapping(PostgresConfig.class).withMapping(WalConfig.class)
                .withDefaultValue("pgrouter.postgres.url", "jdbc:postgresql://db:5432/shop").withDefaultValue("pgrouter.postgres.schema", "router")
                .withDefaultValue("pgrouter.wal.backfill-chunk-size", "500").build();
        Properties p = WalSource.engineProperties(config.getConfigMapping(PostgresConfig.class), config.getConfigMapping(WalConfig.class),
                Set.of("shop.orders"));
        assertThat(p.getProperty("table.include.list")).isEqualTo("shop\\.orders,router\\.debezium_signal");
        assertThat(p.getProperty("signal.data.collection")).isEqualTo("router.debezium_signal");
        assertThat(p.getProperty("signal.enabled.channels")).isEqualTo("source");
        assertThat(p.getProperty("incremental.snapshot.chunk.size")).isEqualTo("500");
        assertThat(p.getProperty("notification.sink.topic.name")).isEqualTo(BackfillProgress.NOTIFICATIONS_TOPIC);
    }
}
