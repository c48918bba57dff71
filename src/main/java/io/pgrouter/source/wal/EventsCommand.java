package io.pgrouter.source.wal;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.source.SourceRecord;

import io.debezium.engine.ChangeEvent;
import io.debezium.engine.DebeziumEngine;
import io.debezium.embedded.Connect;
import io.pgrouter.Cli;
import io.pgrouter.config.CommandConfig;
import io.pgrouter.config.PostgresConfig;
import io.pgrouter.config.WalConfig;
import io.pgrouter.event.CanonicalEvent;
import io.pgrouter.event.EventMapper;
import io.pgrouter.event.ReplicaIdentity;
import io.pgrouter.postgres.Postgres;
import io.pgrouter.source.notify.NotifyRecording;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code bin/pgrouter events record}: real events, as the routes receive them, into a file for {@code bin/pgrouter routes test}. */
@Command(name = "events", mixinStandardHelpOptions = true, versionProvider = Cli.Version.class,
        description = "Events as the routes receive them: record them for bin/pgrouter routes test.", subcommands = EventsCommand.Record.class)
public final class EventsCommand {

    @Command(name = "record", mixinStandardHelpOptions = true, versionProvider = Cli.Version.class,
            description = "Writes canonical events (the JSON the routes receive), one per line, to stdout or --out: the current rows "
                    + "as postgres.row.snapshot events (--snapshot), or the changes committed while it records (--for).",
            footer = { "", "It reads them as the router does, through Debezium on a replication slot of its own (pgrouter_record_<n>, dropped "
                            + "when it ends, on Ctrl-C too), so the values are encoded exactly as in the router's events. The "
                            + "router's slot and position are not touched. The role needs REPLICATION, and either the router's "
                            + "publication (pgrouter.wal.publication) already carries the tables, or the role owns them (a "
                            + "publication of its own is made for the recording and dropped after it).",
                    "", "Examples:", "  bin/pgrouter events record --tables marketplace.products --snapshot --limit 50 --out test/events.jsonl",
                    "  bin/pgrouter events record --tables shop.orders,shop.customers --for 2m --mask email,phone > events.jsonl",
                    "  bin/pgrouter events record --messages orders --channels products --for 5m --limit 100 --out messages.jsonl", "",
                    "Masking: the values of the named columns in before and after are replaced by 'masked:' and the first 16 hex digits "
                            + "of their SHA-256, so equal values stay equal. Key columns cannot be masked (the event's id and subject carry them).",
                    "", "Exit codes: 0 recorded, 1 the database refused (one paragraph on stderr), 2 the command line is wrong." })
    static final class Record implements Callable<Integer> {

        @Spec
        CommandSpec spec;

        @Option(names = "--tables", split = ",", paramLabel = "<schema.table>", description = "The tables to record (without a schema: public). Default: none (only --messages and --channels).")
        List<String> tables = List.of();

        @Option(names = "--messages", split = ",", paramLabel = "<prefix>",
                description = "Also record logical-decoding messages with these prefixes (the durable NOTIFY: pg:wal?messages=...), with --for. Default: none.")
        List<String> messages = List.of();

        @Option(names = "--channels", split = ",", paramLabel = "<channel>",
                description = "Also record the notifications of these NOTIFY channels (pg:notify?channels=...), with --for. Default: none.")
        List<String> channels = List.of();

        @Option(names = "--limit", paramLabel = "N", description = "Stop after N events. Default: no limit.")
        Long limit;

        @Option(names = "--mask", split = ",", paramLabel = "<column>", description = "Columns whose values are replaced by a stable hash. Default: none.")
        List<String> mask = List.of();

        @Option(names = "--out", paramLabel = "FILE", description = "Write the events to this file. Default: stdout.")
        Path out;

        @ArgGroup(exclusive = true, multiplicity = "1")
        Window window;

        static final class Window {
            @Option(names = "--snapshot", required = true, description = "the tables' current rows, as postgres.row.snapshot events")
            boolean snapshot;

            @Option(names = "--for", required = true, paramLabel = "DURATION",
                    description = "record the changes committed during this time: 90s, 5m, 1h (or until --limit, or Ctrl-C)")
            String duration;
        }

        @Override
        public Integer call() throws Exception {
            // Debezium's libraries log through JBoss' LogManager, which says so on stderr unless it is the JDK's log manager
            if (System.getProperty("java.util.logging.manager") == null) System.setProperty("java.util.logging.manager", "org.jboss.logmanager.LogManager");
            Set<String> wanted = new LinkedHashSet<>();
            for (String t : tables) wanted.add(t.contains(".") ? t.strip() : "public." + t.strip());
            if (wanted.isEmpty() && messages.isEmpty() && channels.isEmpty()) {
                throw new ParameterException(spec.commandLine(), "name what to record: --tables, --messages, --channels");
            }
            if (window.snapshot && (wanted.isEmpty() || !messages.isEmpty() || !channels.isEmpty())) {
                throw new ParameterException(spec.commandLine(), "--snapshot reads the rows of --tables; messages and notifications are recorded with --for");
            }
            Duration recordFor;
            try {
                recordFor = window.snapshot ? null : duration(window.duration);
            } catch (IllegalArgumentException e) {
                throw new ParameterException(spec.commandLine(), e.getMessage());
            }
            if (limit != null && limit < 1) throw new ParameterException(spec.commandLine(), "--limit must be 1 or more");
            PostgresConfig pg = CommandConfig.postgres();
            WalConfig wal = CommandConfig.wal();
            Postgres postgres = new Postgres(pg);
            Recording recording = new Recording(postgres, wal, wanted, new TreeSet<>(messages), new TreeSet<>(channels), new TreeSet<>(mask));
            Writer writer = out == null ? new OutputStreamWriter(System.out, StandardCharsets.UTF_8)
                    : Files.newBufferedWriter(out, StandardCharsets.UTF_8);
            try (BufferedWriter lines = new BufferedWriter(writer)) {
                long n = recording.run(lines, recordFor, limit == null ? Long.MAX_VALUE : limit);
                lines.flush();
                System.err.println("recorded " + n + " event(s) of " + recording.what() + (out == null ? "" : " to " + out));
            }
            return 0;
        }

        static Duration duration(String text) {
            String t = text.strip().toLowerCase(java.util.Locale.ROOT);
            try {
                if (t.endsWith("ms")) return Duration.ofMillis(Long.parseLong(t.substring(0, t.length() - 2)));
                if (t.endsWith("s")) return Duration.ofSeconds(Long.parseLong(t.substring(0, t.length() - 1)));
                if (t.endsWith("m")) return Duration.ofMinutes(Long.parseLong(t.substring(0, t.length() - 1)));
                if (t.endsWith("h")) return Duration.ofHours(Long.parseLong(t.substring(0, t.length() - 1)));
                return Duration.parse(text.strip());
            } catch (RuntimeException e) {
                throw new IllegalArgumentException("--for " + text + " is not a duration: write 90s, 5m or 1h");
            }
        }
    }

    /** One recording: its own slot (and publication when needed), Debezium with the router's encodings, and the cleanup. */
    static final class Recording {

        static final String PREFIX = "pgrouter_record_";

        private final Postgres postgres;
        private final WalConfig wal;
        private final Set<String> tables;
        private final Set<String> messages;
        private final Set<String> channels;
        private final Set<String> masked;
        private final String name = PREFIX + ProcessHandle.current().pid() + "_" + Long.toHexString(System.nanoTime() & 0xffffff);
        private String ownPublication;

        Recording(Postgres postgres, WalConfig wal, Set<String> tables, Set<String> messages, Set<String> channels, Set<String> masked) {
            this.messages = messages;
            this.channels = channels;
            this.postgres = postgres;
            this.wal = wal;
            this.tables = tables;
            this.masked = masked;
        }

        // what has been recorded: written by Debezium's thread and the LISTEN loop alike
        private Writer lines;
        private long limit;
        private long count;
        private final CountDownLatch done = new CountDownLatch(1);
        /** Debezium streams (or the recording ended before it did). */
        private final CountDownLatch started = new CountDownLatch(1);

        long run(Writer lines, Duration recordFor, long limit) throws Exception {
            this.lines = lines;
            this.limit = limit;
            if (tables.isEmpty() && messages.isEmpty()) {
                // notifications only: no slot, no publication
                try (NotifyRecording notify = new NotifyRecording(postgres, channels)) {
                    System.err.println("recording " + what() + " for " + recordFor.toSeconds() + " s");
                    listen(notify, recordFor);
                }
                return recorded();
            }
            Map<String, ReplicaIdentity> identities;
            String publication;
            try (Connection c = postgres.open()) {
                identities = ReplicaIdentities.read(c, tables);
                Set<String> missing = new TreeSet<>(tables);
                missing.removeAll(identities.keySet());
                if (!missing.isEmpty()) {
                    throw new IllegalArgumentException("no table " + String.join(", ", missing) + " in database " + postgres.database());
                }
                refuseMaskedKeys(c);
                dropLeftovers(c);
                publication = publication(c);
            }
            // Ctrl-C: the recording ends at once, whatever it waits for (Debezium's start, the window, the limit); once its
            // slot and publication are dropped the process ends without waiting for Debezium's graceful stop, which can
            // take minutes when the signal came while the slot was still being made. What was recorded is already written.
            Thread cleanup = new Thread(() -> {
                done.countDown();
                started.countDown();
                cleanUp();
                Runtime.getRuntime().halt(130);
            }, "pgrouter-record-cleanup");
            Runtime.getRuntime().addShutdownHook(cleanup); // Ctrl-C: the slot and publication go too
            try (NotifyRecording notify = channels.isEmpty() ? null : new NotifyRecording(postgres, channels)) {
                stream(publication, identities, recordFor, notify);
                return recorded();
            } finally {
                cleanUp();
                Runtime.getRuntime().removeShutdownHook(cleanup);
            }
        }

        private void stream(String publication, Map<String, ReplicaIdentity> identities, Duration recordFor, NotifyRecording notify) throws Exception {
            Properties p = WalSource.engineProperties(postgres.config(), wal, tables, false);
            p.setProperty("name", name);
            p.setProperty("slot.name", name);
            p.setProperty("slot.drop.on.stop", "true");
            p.setProperty("publication.name", publication);
            p.setProperty("publication.autocreate.mode", "disabled");
            p.setProperty("snapshot.mode", recordFor == null ? "initial_only" : "no_data");
            p.setProperty("offset.storage", "org.apache.kafka.connect.storage.MemoryOffsetBackingStore");
            p.stringPropertyNames().stream().filter(k -> k.startsWith("offset.storage.jdbc.") || k.startsWith("signal.") || k.startsWith("incremental."))
                    .forEach(p::remove);
            p.remove("heartbeat.action.query");
            p.setProperty("heartbeat.interval.ms", "0");
            p.setProperty("poll.interval.ms", "100");
            EventMapper mapper = new EventMapper(postgres.database(), (schema, table) -> identities.get(schema + "." + table));
            AtomicReference<Throwable> failed = new AtomicReference<>();
            DebeziumEngine<ChangeEvent<SourceRecord, SourceRecord>> engine = DebeziumEngine.create(Connect.class).using(p)
                    .using(new DebeziumEngine.ConnectorCallback() {
                        @Override
                        public void taskStarted() {
                            started.countDown();
                        }
                    })
                    .using((success, message, error) -> {
                        if (!success && error != null) failed.compareAndSet(null, error);
                        else if (!success) failed.compareAndSet(null, new IllegalStateException(message));
                        done.countDown();
                        started.countDown(); // it ended before it streamed: nothing to wait for
                    })
                    .notifying((records, committer) -> {
                        for (ChangeEvent<SourceRecord, SourceRecord> r : records) {
                            SourceRecord record = r.value();
                            if (BackfillProgress.isNotification(record)) {
                                if (recordFor == null && snapshotEnded(record)) done.countDown();
                            } else {
                                for (CanonicalEvent e : mapper.fromDebezium(record)) {
                                    if (wanted(e)) take(e);
                                }
                            }
                            committer.markProcessed(r);
                        }
                        committer.markBatchFinished();
                    })
                    .build();
            Thread thread = new Thread(engine, "pgrouter-record");
            thread.setDaemon(true);
            thread.start();
            try {
                if (recordFor != null) {
                    if (!started.await(60, TimeUnit.SECONDS)) throw new IllegalStateException("Debezium did not start streaming within 60 s");
                    if (done.getCount() > 0) System.err.println("recording " + what() + " for " + recordFor.toSeconds() + " s (slot " + name + ")");
                    if (notify == null) done.await(recordFor.toMillis(), TimeUnit.MILLISECONDS);
                    else listen(notify, recordFor);
                } else {
                    done.await();
                }
            } finally {
                engine.close();
                thread.join(30_000);
            }
            Throwable f = failed.get();
            if (f != null) throw f instanceof Exception e ? e : new IllegalStateException(f);
        }

        /** Takes notifications until the window ends or the limit is reached. */
        private void listen(NotifyRecording notify, Duration recordFor) throws Exception {
            long end = System.nanoTime() + recordFor.toNanos();
            while (done.getCount() > 0 && System.nanoTime() < end) {
                for (CanonicalEvent e : notify.poll((int) Math.max(1, Math.min(200, (end - System.nanoTime()) / 1_000_000)))) take(e);
            }
        }

        private synchronized long recorded() {
            return count;
        }

        /** Writes the event (masked) unless the limit is reached; written at once, so Ctrl-C keeps what was recorded. */
        private synchronized void take(CanonicalEvent e) {
            if (count >= limit) return;
            try {
                lines.write(masked(e).toJson());
                lines.write('\n');
                lines.flush();
            } catch (IOException x) {
                throw new java.io.UncheckedIOException(x);
            }
            if (++count >= limit) done.countDown();
        }

        /** A message by its prefix (the durable trigger's messages carry their table too), a row change by its table. */
        private boolean wanted(CanonicalEvent e) {
            if (e.op() == io.pgrouter.event.Op.MESSAGE || (e.channel() != null && e.lsn() != null)) return messages.contains(e.channel());
            return e.table() != null && tables.contains(e.qualifiedTable());
        }

        String what() {
            List<String> parts = new ArrayList<>();
            if (!tables.isEmpty()) parts.add("changes to " + String.join(", ", tables));
            if (!messages.isEmpty()) parts.add("messages " + String.join(", ", messages));
            if (!channels.isEmpty()) parts.add("notifications on " + String.join(", ", channels));
            return String.join(" and ", parts);
        }

        /** Debezium's notification that the snapshot of the tables is over (or had nothing to do). */
        private static boolean snapshotEnded(SourceRecord record) {
            if (!(record.value() instanceof Struct n)) return false;
            String type = String.valueOf(n.get("type"));
            return "Initial Snapshot".equals(n.get("aggregate_type")) && (type.equals("COMPLETED") || type.equals("ABORTED") || type.equals("SKIPPED"));
        }

        /** The event with the masked columns' values in before and after replaced by a stable hash. */
        CanonicalEvent masked(CanonicalEvent e) {
            if (masked.isEmpty() || !(e.data() instanceof com.fasterxml.jackson.databind.node.ObjectNode data)) return e;
            com.fasterxml.jackson.databind.node.ObjectNode copy = data.deepCopy();
            for (String side : List.of("before", "after")) {
                if (!(copy.get(side) instanceof com.fasterxml.jackson.databind.node.ObjectNode row)) continue;
                for (String column : masked) {
                    if (row.has(column) && !row.get(column).isNull()) row.put(column, mask(row.get(column).toString()));
                }
            }
            return new CanonicalEvent(e.id(), e.source(), e.op(), e.subject(), e.time(), e.database(), e.schema(), e.table(), e.lsn(), e.txid(),
                    e.channel(), copy, e.skip(), e.routes());
        }

        static String mask(String value) {
            try {
                byte[] digest = java.security.MessageDigest.getInstance("SHA-256").digest(value.getBytes(StandardCharsets.UTF_8));
                return "masked:" + java.util.HexFormat.of().formatHex(digest, 0, 8);
            } catch (java.security.NoSuchAlgorithmException x) {
                throw new IllegalStateException(x);
            }
        }

        private void refuseMaskedKeys(Connection c) throws SQLException {
            if (masked.isEmpty()) return;
            try (PreparedStatement ps = c.prepareStatement("SELECT n.nspname || '.' || t.relname, a.attname FROM pg_index i "
                    + "JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace "
                    + "JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = ANY (i.indkey) "
                    + "WHERE i.indisprimary AND n.nspname || '.' || t.relname = ANY (?) AND a.attname = ANY (?)")) {
                ps.setArray(1, c.createArrayOf("text", tables.toArray()));
                ps.setArray(2, c.createArrayOf("text", masked.toArray()));
                try (ResultSet rs = ps.executeQuery()) {
                    if (rs.next()) {
                        throw new IllegalArgumentException("--mask " + rs.getString(2) + ": it is the primary key of " + rs.getString(1)
                                + ", which the event's id and subject carry; mask other columns");
                    }
                }
            }
        }

        /** Slots of recordings killed before they could drop them (kill -9, a lost machine): inactive, so no recording uses them. */
        private static void dropLeftovers(Connection c) throws SQLException {
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT slot_name, pg_drop_replication_slot(slot_name) FROM "
                    + "pg_replication_slots WHERE slot_name LIKE '" + PREFIX + "%' AND NOT active AND database = current_database()")) {
                while (rs.next()) System.err.println("dropped slot " + rs.getString(1) + ", left by an interrupted recording");
            }
        }

        /** The router's publication when it carries every table, else one of the recording's own (the role must own the tables). */
        private String publication(Connection c) throws SQLException {
            if (tables.isEmpty()) {
                // messages only: they reach every slot; Debezium still wants a publication to exist
                try (Statement s = c.createStatement()) {
                    s.execute("CREATE PUBLICATION " + name);
                }
                ownPublication = name;
                return name;
            }
            try (PreparedStatement ps = c.prepareStatement("SELECT count(*) FROM pg_publication_tables WHERE pubname = ? "
                    + "AND schemaname || '.' || tablename = ANY (?)")) {
                ps.setString(1, wal.publication());
                ps.setArray(2, c.createArrayOf("text", tables.toArray()));
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    if (rs.getInt(1) == tables.size()) return wal.publication();
                }
            }
            List<String> quoted = new ArrayList<>();
            for (String t : tables) {
                int dot = t.indexOf('.');
                quoted.add(Postgres.quoteIdent(t.substring(0, dot)) + "." + Postgres.quoteIdent(t.substring(dot + 1)));
            }
            try (Statement s = c.createStatement()) {
                s.execute("CREATE PUBLICATION " + name + " FOR TABLE " + String.join(", ", quoted));
            } catch (SQLException e) {
                if (!"42501".equals(e.getSQLState())) throw e;
                throw new IllegalStateException("user " + postgres.config().user() + " may not publish " + String.join(", ", tables) + " ("
                        + e.getMessage().strip() + "): record as the tables' owner, or have it run ALTER PUBLICATION " + wal.publication()
                        + " ADD TABLE " + String.join(", ", quoted), e);
            }
            ownPublication = name;
            return name;
        }

        /** Drops the recording's slot (if Debezium has not) and its own publication; quietly, it runs on Ctrl-C too. */
        private synchronized void cleanUp() {
            try (Connection c = postgres.open(); Statement s = c.createStatement()) {
                try (ResultSet rs = s.executeQuery("SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = '" + name
                        + "' AND active_pid IS NOT NULL AND active_pid <> pg_backend_pid()")) {
                    while (rs.next()) {
                        // the stream's connection, still open when Ctrl-C came before Debezium stopped
                    }
                }
                for (int tries = 0; tries < 50; tries++) {
                    try (ResultSet rs = s.executeQuery("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '"
                            + name + "'")) {
                        break;
                    } catch (SQLException stillActive) {
                        Thread.sleep(100); // the terminated backend has not let go of the slot yet
                    }
                }
                if (ownPublication != null) s.execute("DROP PUBLICATION IF EXISTS " + ownPublication);
                ownPublication = null;
            } catch (SQLException | InterruptedException e) {
                System.err.println("could not drop replication slot " + name + " (" + e.getMessage()
                        + "); drop it with SELECT pg_drop_replication_slot('" + name + "'), or the next events record does it");
            }
        }
    }
}
