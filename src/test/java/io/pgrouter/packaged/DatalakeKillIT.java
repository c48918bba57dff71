package io.pgrouter.packaged;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.pgrouter.testing.DuckDb;
import io.pgrouter.testing.RouterProcess;
import io.pgrouter.testing.Sql;
import io.pgrouter.testing.TestServers;

/** The packaged router killed with -9 while it writes Parquet: no partial file is visible, no row is lost. */
class DatalakeKillIT {

    static final TestServers servers = new TestServers();
    static Map<String, String> config;
    static final int TRANSACTIONS = 30, ROWS = 1000;

    @BeforeAll
    static void startServers() throws Exception {
        config = new HashMap<>(servers.start());
        config.put("quarkus.http.port", "0");
        config.put("pgrouter.wal.slot", "lakekill");
        config.put("pgrouter.wal.publication", "lakekill");
        Path routes = Files.createTempDirectory("routes");
        Files.writeString(routes.resolve("wal-bulk-to-parquet.yaml"), """
                - route:
                    id: wal-bulk-to-parquet
                    from:
                      uri: pg:wal
                      parameters:
                        tables: test.lake_bulk
                      steps:
                        - to: "kamelet:datalake-sink?target={{pgrouter.sinks.lake.root}}&format=parquet&compression=zstd"
                """);
        config.put("pgrouter.routes.dir", routes.toString());
    }

    @AfterAll
    static void stopServers() {
        servers.stop();
    }

    static String lake() {
        return "read_parquet('" + TestServers.lake.resolve("test.lake_bulk") + "/**/*.parquet', hive_partitioning = true)";
    }

    static List<Path> inProgress() {
        return files(".inprogress");
    }

    static List<Path> files(String suffix) {
        if (!Files.isDirectory(TestServers.lake)) return List.of();
        try (Stream<Path> files = Files.walk(TestServers.lake)) {
            return files.filter(p -> p.getFileName().toString().endsWith(suffix)).toList();
        } catch (Exception e) {
            return List.of(); // a file renamed while we walked
        }
    }

    @Test
    void killedMidWriteTheRouterLeavesNoPartialFileVisibleAndDeliversEveryRowAfterRestarting() throws Exception {
        Thread writer = new Thread(() -> {
            for (int t = 0; t < TRANSACTIONS; t++) {
                int from = t * ROWS;
                Sql.exec("INSERT INTO test.lake_bulk SELECT i, repeat(md5(i::text), 8) FROM generate_series(" + from + ", " + (from + ROWS - 1) + ") i");
            }
        }, "lake-writer");
        try (RouterProcess first = RouterProcess.start(config)) {
            await().atMost(Duration.ofSeconds(60)).until(() -> Sql.count("SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'lakekill' AND active") == 1);
            writer.start();
            // kill while a file is being written (under _inprogress/, beside the committed ones)
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(1)).until(() -> !inProgress().isEmpty() && !files(".parquet").isEmpty());
            first.kill();
        }
        writer.join();
        assertThat(inProgress()).as("the interrupted file is still there, hidden").isNotEmpty();
        long visibleBeforeRestart = DuckDb.count("SELECT count(*) FROM " + lake()); // every visible file is a whole Parquet file
        assertThat(visibleBeforeRestart).isPositive().isLessThan((long) TRANSACTIONS * ROWS);

        try (RouterProcess second = RouterProcess.start(config)) {
            await().atMost(Duration.ofSeconds(120)).ignoreExceptions()
                    .until(() -> DuckDb.count("SELECT count(DISTINCT id) FROM " + lake()) == (long) TRANSACTIONS * ROWS);
            assertThat(DuckDb.count("SELECT count(DISTINCT _event_id) FROM " + lake())).isEqualTo((long) TRANSACTIONS * ROWS);
            assertThat(DuckDb.count("SELECT count(*) FROM " + lake() + " WHERE payload <> repeat(md5(id::varchar), 8)")).isZero();
            assertThat(inProgress()).as("the leftover was removed at start").isEmpty();
        }
    }
}
