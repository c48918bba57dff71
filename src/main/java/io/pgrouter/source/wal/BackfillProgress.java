package io.pgrouter.source.wal;

import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.source.SourceRecord;
import org.jboss.logging.Logger;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.pgrouter.event.CanonicalEvent;
import io.pgrouter.event.Op;
import io.pgrouter.source.PgConsumer;
import io.pgrouter.source.wal.Backfills.Backfill;
import io.pgrouter.source.wal.Backfills.Status;

/**
 * The router's side of backfills: counts the snapshot events of each running backfill, sends them only to its route
 * when it names one, follows Debezium's incremental-snapshot notifications (started, table scanned, aborted), and
 * publishes progress in the {@code backfills} table, the log, health data and {@code pgrouter_backfill_rows_total}.
 *
 * Only the engine's thread counts and handles notifications; the watchdog thread stores progress.
 */
final class BackfillProgress {

    private static final Logger LOG = Logger.getLogger(BackfillProgress.class);
    /** Where Debezium's notifications arrive among the records (its "sink" notification channel). */
    static final String NOTIFICATIONS_TOPIC = "pgrouter.backfill.notifications";
    private static final long LOG_EVERY_MS = 10_000;

    private final Backfills store;
    private final MeterRegistry metrics;
    /** Running backfills by table ({@code schema.table}). */
    private final Map<String, Running> running = new ConcurrentHashMap<>();
    /** The last finished backfill of each table, for health data. */
    private final Map<String, String> finished = new ConcurrentHashMap<>();
    /** Ends of backfills seen in the batch in progress: stored once the batch's events are delivered. */
    private final List<Ended> ended = new ArrayList<>();
    /** The ids of the backfills that ended while this router ran (written by the WAL thread, read by the progress tick). */
    private final java.util.Set<String> endedIds = java.util.concurrent.ConcurrentHashMap.newKeySet();
    /** Tables whose snapshot rows have no backfill request (a signal written by hand): not looked up again per row. */
    private final java.util.Set<String> unrequested = ConcurrentHashMap.newKeySet();

    private record Ended(Running running, Status status, String summary) {
    }

    private static final class Running {
        final Backfill backfill;
        final AtomicLong done;
        final long doneAtLoad;
        final long loadedAt = System.currentTimeMillis();
        final Counter counter;
        volatile boolean started;
        /** Its route does not read the table: its events go nowhere until Debezium has stopped it. */
        volatile String refused;
        /** Started since the stored status was written: RUNNING is stored after the batch. */
        volatile boolean startedUnstored;
        long stored;
        long loggedAt = System.currentTimeMillis();

        Running(Backfill backfill, Counter counter) {
            this.backfill = backfill;
            this.done = new AtomicLong(backfill.done());
            this.doneAtLoad = backfill.done();
            this.stored = backfill.done();
            this.counter = counter;
            this.started = backfill.status() != Status.REQUESTED;
        }

        double rate() {
            long seconds = System.currentTimeMillis() - loadedAt;
            return seconds <= 0 ? 0 : (done.get() - doneAtLoad) * 1000.0 / seconds;
        }

        String progress() {
            return Backfills.progress(done.get(), backfill.total(), backfill.estimated(), rate());
        }
    }

    BackfillProgress(Backfills store, MeterRegistry metrics) {
        this.store = store;
        this.metrics = metrics;
    }

    /** At start-up: the backfills left running by an earlier run (Debezium resumes them from its stored position). */
    void load(List<PgConsumer> consumers) {
        try {
            for (Backfill b : store.active()) track(b, consumers);
        } catch (SQLException e) {
            LOG.warnf("cannot read the running backfills (%s): their progress is not shown until the next start", e.getMessage());
        }
    }

    /** Follows a backfill; one whose route does not read the table is refused at once (and stopped: its signal is out). */
    private synchronized Running track(Backfill b, List<PgConsumer> consumers) throws SQLException {
        Running known = running.get(b.table());
        if (known != null) return known;
        // read as active just before it ended (the request list is read on another thread): not again
        if (endedIds.contains(b.id())) return null;
        Running r = new Running(b, Counter.builder("pgrouter.backfill.rows").tag("table", b.table()).description("rows sent by backfills")
                .register(metrics));
        running.put(b.table(), r);
        String route = b.route();
        if (route != null && consumers.stream().noneMatch(c -> route.equals(c.getRouteId()) && c.subscription().tables().contains(b.table()))) {
            r.refused = "route " + route + " does not read table " + b.table() + " (routes reading it: "
                    + String.join(", ", consumers.stream().filter(c -> c.subscription().tables().contains(b.table())).map(PgConsumer::getRouteId)
                            .distinct().sorted().toList())
                    + "): check --route";
            LOG.errorf("backfill %s refused: %s", b.id(), r.refused);
            store.update(b.id(), Status.FAILED, 0L, "failed: " + r.refused);
            store.stopSignal(b.table());
        }
        return r;
    }

    static boolean isNotification(SourceRecord record) {
        return NOTIFICATIONS_TOPIC.equals(record.topic());
    }

    /** Debezium's word on its snapshots, taken in stream order: the rows after it are counted against the right backfill. */
    void notification(SourceRecord record, List<PgConsumer> consumers) {
        if (!(record.value() instanceof Struct n)) return;
        try {
            apply(n, consumers);
        } catch (SQLException | RuntimeException e) {
            LOG.warnf("cannot record a backfill's state (%s): %s", n.get("type"), e.getMessage());
        }
    }

    /**
     * The routes an event goes to: all of them, except for a backfill's snapshot event when the backfill names one
     * route. Counts the snapshot events of running backfills.
     */
    List<PgConsumer> consumersFor(CanonicalEvent event, SourceRecord record, List<PgConsumer> consumers) {
        if (event.op() != Op.SNAPSHOT || !incremental(record)) return consumers;
        Running r = running.get(event.qualifiedTable());
        if (r == null) r = requested(event.qualifiedTable(), consumers);
        if (r == null) return consumers;
        if (r.refused != null) return List.of();
        if (!r.started) {
            // a table queued behind another one gets no notification of its own: its first row says it started
            r.started = true;
            r.startedUnstored = true;
        }
        r.done.incrementAndGet();
        r.counter.increment();
        String route = r.backfill.route();
        if (route == null) return consumers;
        List<PgConsumer> only = new ArrayList<>(1);
        for (PgConsumer c : consumers) {
            if (route.equals(c.getRouteId())) only.add(c);
        }
        return only;
    }

    /** A table's first snapshot row with no backfill followed yet: its request, if there is one (one lookup). */
    private Running requested(String table, List<PgConsumer> consumers) {
        if (unrequested.contains(table)) return null;
        try {
            Backfill b = store.active(table).orElse(null);
            if (b != null) return track(b, consumers);
        } catch (SQLException e) {
            LOG.warnf("cannot read the backfill request of %s (%s): its rows go to every route reading it", table, e.getMessage());
        }
        unrequested.add(table);
        return null;
    }

    private static boolean incremental(SourceRecord record) {
        Struct source = record.value() instanceof Struct v ? v.getStruct("source") : null;
        return source != null && "incremental".equals(source.get("snapshot"));
    }

    /** After the batch's events were delivered: what Debezium said about its snapshots during the batch. */
    void afterBatch(List<PgConsumer> consumers) {
        for (Running r : running.values()) {
            if (!r.startedUnstored) continue;
            r.startedUnstored = false;
            try {
                startedLog(r);
                store.update(r.backfill.id(), Status.RUNNING, r.done.get(), null);
            } catch (SQLException e) {
                LOG.warnf("cannot record that backfill %s started: %s", r.backfill.id(), e.getMessage());
            }
        }
        for (Ended e : ended) {
            Backfill b = e.running().backfill;
            try {
                store.update(b.id(), e.status(), e.running().done.get(), e.summary());
            } catch (SQLException ex) {
                LOG.warnf("cannot record that backfill %s ended (%s): %s", b.id(), e.summary(), ex.getMessage());
            }
            if (e.status() == Status.FAILED) LOG.errorf("backfill %s of %s %s", b.id(), b.table(), e.summary());
            else LOG.infof("backfill %s of %s %s", b.id(), b.table(), e.summary());
        }
        ended.clear();
    }

    @SuppressWarnings("unchecked")
    private void apply(Struct n, List<PgConsumer> consumers) throws SQLException {
        String type = String.valueOf(n.get("type"));
        Map<String, String> data = n.get("additional_data") instanceof Map<?, ?> m ? (Map<String, String>) m : Map.of();
        LOG.debugf("incremental snapshot notification %s %s", type, data);
        switch (type) {
            case "STARTED" -> {
                unrequested.clear();
                for (String table : tables(data.get("data_collections"))) started(table, consumers);
            }
            case "TABLE_SCAN_COMPLETED" -> {
                String table = tableName(data.getOrDefault("scanned_collection", data.get("data_collection")));
                String status = data.getOrDefault("status", "SUCCEEDED");
                boolean ok = status.equals("SUCCEEDED") || status.equals("EMPTY");
                finish(table, ok ? Status.DONE : Status.FAILED, ok ? null : "Debezium could not read the table: " + status);
            }
            case "ABORTED" -> {
                List<String> tables = tables(data.get("data_collections"));
                for (String table : tables.isEmpty() ? List.copyOf(running.keySet()) : tables) finish(table, Status.CANCELLED, null);
            }
            case "COMPLETED" -> {
                for (String table : List.copyOf(running.keySet())) {
                    if (running.get(table).started) finish(table, Status.DONE, null);
                }
            }
            default -> {
                // IN_PROGRESS, PAUSED, RESUMED: the rows counted here say more
            }
        }
    }

    private void started(String table, List<PgConsumer> consumers) throws SQLException {
        if (running.containsKey(table)) return;
        Backfill b = store.active(table).orElse(null);
        if (b == null) {
            LOG.infof("an incremental snapshot of %s started that no backfill request asked for (a signal written by hand?): "
                    + "its rows go to every route reading the table", table);
            return;
        }
        track(b, consumers);
    }

    private void startedLog(Running r) {
        Backfill b = r.backfill;
        LOG.infof("backfill %s of %s started: %s%d rows%s, to %s", b.id(), b.table(), b.estimated() ? "about " : "", b.total(),
                b.condition() == null ? "" : " where " + b.condition(), b.route() == null ? "every route reading it" : "route " + b.route() + " only");
    }

    private void finish(String table, Status status, String detail) throws SQLException {
        Running ending = running.get(table);
        if (ending != null) endedIds.add(ending.backfill.id());
        Running r = running.remove(table);
        if (r == null || r.refused != null) return;
        if (status == Status.DONE && store.byId(r.backfill.id()).map(Backfill::status).orElse(null) == Status.CANCELLING) {
            status = Status.CANCELLED; // stopped: Debezium reports the table as scanned
        }
        long seconds = Math.max(1, (System.currentTimeMillis() - r.loadedAt) / 1000);
        String summary = status.wire() + ", " + r.done.get() + " rows in " + seconds + " s (" + Math.round(r.rate()) + " rows/s)"
                + (detail == null ? "" : ": " + detail);
        finished.put(table, summary);
        ended.add(new Ended(r, status, summary));
    }

    /**
     * Called every few seconds (watchdog thread): stores the rows sent, logs a progress line every 10 s, and fails the
     * requests for a table the stream does not carry (Debezium ignores them).
     */
    void store(java.util.Set<String> streamed, List<PgConsumer> consumers) {
        long now = System.currentTimeMillis();
        for (Running r : running.values()) {
            long done = r.done.get();
            try {
                if (done != r.stored) store.update(r.backfill.id(), null, done, null);
                r.stored = done;
            } catch (SQLException e) {
                LOG.debugf("cannot store the progress of backfill %s: %s", r.backfill.id(), e.getMessage());
            }
            if (r.started && now - r.loggedAt >= LOG_EVERY_MS) {
                LOG.infof("backfill of %s: %s", r.backfill.table(), r.progress());
                r.loggedAt = now;
            }
        }
        try {
            for (Backfill b : store.active()) {
                if (streamed != null && !streamed.contains(b.table()) && !running.containsKey(b.table())) {
                    String why = "no route reads table " + b.table() + ": add a pg:wal route on it (or list it in pgrouter.wal.tables)";
                    store.update(b.id(), Status.FAILED, 0L, "failed: " + why);
                    LOG.errorf("backfill %s refused: %s", b.id(), why);
                } else if (!running.containsKey(b.table())) {
                    track(b, consumers); // requested while the router runs: known before Debezium reads its signal
                }
            }
        } catch (SQLException e) {
            LOG.debugf("cannot read the backfill requests: %s", e.getMessage());
        }
    }

    /** Health data: {@code backfill <table>} → its progress or how the last one ended. */
    Map<String, String> health() {
        Map<String, String> data = new LinkedHashMap<>();
        finished.forEach((table, summary) -> data.put("backfill " + table, summary));
        running.forEach((table, r) -> data.put("backfill " + table, r.refused != null ? "failed: " + r.refused
                : (r.started ? "running, " + r.progress() : "requested, waiting for Debezium")
                + (r.backfill.route() == null ? "" : ", route " + r.backfill.route() + " only")));
        return data;
    }

    /** {@code a.b,c.d} from a notification, each as {@code schema.table}. */
    private static List<String> tables(String list) {
        if (list == null || list.isBlank()) return List.of();
        List<String> result = new ArrayList<>();
        for (String t : list.split(",")) result.add(tableName(t.strip()));
        return result;
    }

    /** Debezium may prefix the database: the last two parts are the schema and the table. */
    static String tableName(String id) {
        if (id == null) return "";
        String[] parts = id.split("\\.");
        return parts.length <= 2 ? id : parts[parts.length - 2] + "." + parts[parts.length - 1];
    }
}
