package io.pgrouter.event;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import org.apache.kafka.connect.source.SourceRecord;

import io.debezium.embedded.Connect;
import io.debezium.engine.ChangeEvent;
import io.debezium.engine.DebeziumEngine;
import io.pgrouter.config.PostgresConfig;
import io.pgrouter.config.WalConfig;
import io.pgrouter.demo.EmbeddedDatabase;
import io.pgrouter.source.wal.WalSource;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;

/**
 * Records the fixture {@code src/test/resources/records/pg14-types.jsonl}: what Debezium hands the WAL source, with
 * the WAL source's own settings, for a script of changes covering the types and cases the mapper must handle.
 * Run again when Debezium or the settings change:
 * {@code mvn -q test-compile exec:java -Dexec.mainClass=io.pgrouter.event.RecordFixtures -Dexec.classpathScope=test}
 */
public final class RecordFixtures {

    static final String SCRIPT = """
            CREATE SCHEMA fx;
            CREATE TABLE fx.types (tenant int, code text, amount numeric(20,6), ratio numeric, big bigint, flag boolean,
              happened timestamptz, local_ts timestamp, day date, at_time time, doc jsonb, tags text[], nums int[], uid uuid,
              blob bytea, empty text, long_text text, PRIMARY KEY (tenant, code));
            ALTER TABLE fx.types ALTER COLUMN long_text SET STORAGE EXTERNAL;
            CREATE TABLE fx.keyless (a int, b text);
            ALTER TABLE fx.keyless REPLICA IDENTITY FULL;
            """;

    static final List<String> CHANGES = List.of(
            "INSERT INTO fx.types VALUES (7, 'a', 12345678901234.123456, 3.14159265358979323846, 9007199254740993, true, "
                    + "'2026-01-02 03:04:05.123456+02', '2026-01-02 03:04:05.5', '2026-01-02', '03:04:05.25', "
                    + "'{\"k\": [1, 2, {\"n\": null}], \"s\": \"x\"}', '{one,two,NULL}', '{1,2,3}', "
                    + "'8d2d3a36-6a57-4f44-9a4b-4c0e6c7b1a9e', '\\x0102ff', NULL, "
                    + "(SELECT string_agg(md5(i::text), '') FROM generate_series(1, 4000) i))",
            "UPDATE fx.types SET flag = false WHERE tenant = 7 AND code = 'a'",
            "DELETE FROM fx.types WHERE tenant = 7 AND code = 'a'",
            "INSERT INTO fx.keyless VALUES (1, 'x')",
            "TRUNCATE fx.keyless",
            "SELECT pg_logical_emit_message(true, 'orders', '{\"order\": 5}')");

    public static void main(String... args) throws Exception {
        Path out = Path.of("src/test/resources/records/pg14-types.jsonl");
        Path dir = Files.createTempDirectory("record");
        try (EmbeddedDatabase db = new EmbeddedDatabase(dir.resolve("pg"), 0).start()) {
            try (Connection c = db.connect(); Statement s = c.createStatement()) {
                s.execute(SCRIPT);
                s.execute("CREATE SCHEMA pgrouter");
            }
            SmallRyeConfig config = new SmallRyeConfigBuilder().withMapping(PostgresConfig.class).withMapping(WalConfig.class)
                    .withDefaultValue("pgrouter.postgres.url", db.jdbcUrl()).withDefaultValue("pgrouter.wal.slot", "fx")
                    .withDefaultValue("pgrouter.wal.publication", "fx").build();
            Properties props = WalSource.engineProperties(config.getConfigMapping(PostgresConfig.class),
                    config.getConfigMapping(WalConfig.class), Set.of("fx.types", "fx.keyless"));
            List<SourceRecord> records = new CopyOnWriteArrayList<>();
            try (DebeziumEngine<ChangeEvent<SourceRecord, SourceRecord>> engine = DebeziumEngine.create(Connect.class).using(props)
                    .notifying((batch, committer) -> {
                        for (ChangeEvent<SourceRecord, SourceRecord> r : batch) {
                            if (!r.value().topic().startsWith("__debezium-heartbeat")) records.add(r.value());
                            committer.markProcessed(r);
                        }
                        committer.markBatchFinished();
                    }).build()) {
                ExecutorService runner = Executors.newSingleThreadExecutor();
                runner.execute(engine);
                while (true) { // wait until the slot streams
                    try (Connection c = db.connect(); Statement s = c.createStatement();
                            var rs = s.executeQuery("SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'fx' AND active")) {
                        rs.next();
                        if (rs.getInt(1) == 1) break;
                    }
                    Thread.sleep(100);
                }
                try (Connection c = db.connect(); Statement s = c.createStatement()) {
                    for (String change : CHANGES) s.execute(change);
                }
                long deadline = System.currentTimeMillis() + 30_000;
                while (records.size() < CHANGES.size() && System.currentTimeMillis() < deadline) Thread.sleep(100);
                runner.shutdownNow();
            }
            Files.createDirectories(out.getParent());
            Files.writeString(out, String.join("\n", records.stream().map(RecordedRecords::toLine).toList()) + "\n");
            System.out.println("recorded " + records.size() + " records to " + out);
        }
    }
}
