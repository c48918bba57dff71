package io.pgrouter.source.wal;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import jakarta.inject.Singleton;

import org.apache.kafka.connect.source.SourceRecord;
import org.jboss.logging.Logger;

import io.debezium.embedded.Connect;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.debezium.engine.ChangeEvent;
import io.debezium.engine.DebeziumEngine;
import io.pgrouter.config.PostgresConfig;
import io.pgrouter.config.WalConfig;
import io.pgrouter.event.CanonicalEvent;
import io.pgrouter.event.EventMapper;
import io.pgrouter.event.ReplicaIdentity;
import io.pgrouter.postgres.Postgres;
import io.pgrouter.postgres.PostgresLocation;
import io.pgrouter.source.EventDispatcher;
import io.pgrouter.source.EventSource;
import io.pgrouter.source.PgConsumer;
import io.pgrouter.source.SourceState;
import io.pgrouter.delivery.DeadLetterStore;

/**
 * The WAL source: one Debezium PostgreSQL engine (pgoutput, one named slot) for every {@code pg:wal} route.
 *
 * We run Debezium's engine ourselves instead of camel-debezium-postgres' consumer because that consumer takes
 * records one by one and lets Debezium commit the offset whatever the route did. Here each batch is routed
 * synchronously, and a record is marked processed only once every subscribed route delivered it or the failure
 * is in the dead-letter store; so the slot's confirmed position never passes an unfinished event.
 */
@Singleton
public class WalSource implements EventSource {

    private static final Logger LOG = Logger.getLogger(WalSource.class);

    private final Postgres postgres;
    private final WalConfig config;
    private final EventDispatcher dispatcher;
    private final DeadLetterStore deadLetters;
    private final EventMapper mapper;
    private final List<PgConsumer> consumers = new CopyOnWriteArrayList<>();

    private static final long WATCH_MS = 2000;
    /** The longest wait between two attempts to reach PostgreSQL again after a lost connection. */
    private static final long RECONNECT_MAX_MS = 2000;
    /** pgrouter.wal.on-max-lag's value that parks the events of a destination holding the slot back. */
    static final String PARK = "park";

    private ScheduledExecutorService scheduler;
    private Set<String> tables;
    /** Whether the publication carries the signal table, or the router may add it: without it no backfill request arrives. */
    private volatile boolean signalsPublished = true;
    private volatile DebeziumEngine<ChangeEvent<SourceRecord, SourceRecord>> engine;
    /** A run replaced because the routes' tables changed, until it is closed. */
    private DebeziumEngine<?> retired;
    private volatile SourceState state = SourceState.up("no pg:wal route");
    private volatile boolean stopping;
    private boolean restartPending;
    private long restartDelayMs = 500;
    private long slotInactiveSince;
    /** Why the watchdog's last check could not reach PostgreSQL (a network cut, a server down), or null when it could. */
    private volatile String unreachable;
    private volatile long unreachableSince;
    /** The backend that streamed the slot at the last check, and the one of a stream replaced as stalled (0: none). */
    private volatile int streamingPid, abandonedPid;
    /** Engine runs started, for their JMX names. */
    private final AtomicLong runs = new AtomicLong();
    /** An outage already reported (one WARN): further failed attempts to reach PostgreSQL are DEBUG until streaming again. */
    private volatile boolean outageReported;
    /** The offset gap last reported: checked again at each restart, logged again only when it changes. */
    private String reportedGap;

    private final AtomicLong slotLagBytes = new AtomicLong();
    /** 1 while the slot lags more than pgrouter.wal.max-lag-bytes behind the WAL (a metric), else 0. */
    private final AtomicLong lagOverLimit = new AtomicLong();
    /** The WAL retention guard's word for readiness data. */
    private volatile String retention = "not measured yet";
    /** When the batch being routed now started (epoch ms), 0 between batches. */
    private volatile long batchSince;
    /** The batching sink that held the oldest event after the last batch end (its linger), or null. */
    private volatile String heldBy;
    /** schema → table → replica identity of the published tables, read at start-up (a lookup per event: no string built). */
    private volatile Map<String, Map<String, ReplicaIdentity>> identities = Map.of();
    private final SkipMarks skipMarks = new SkipMarks();
    private final Backfills backfills;
    private final BackfillProgress backfillProgress;

    private final io.pgrouter.delivery.SinkDestinations destinations;

    public WalSource(Postgres postgres, WalConfig config, EventDispatcher dispatcher, DeadLetterStore deadLetters,
            MeterRegistry metrics, io.pgrouter.delivery.SinkDestinations destinations) {
        this.destinations = destinations;
        Gauge.builder("pgrouter.wal.slot.lag", slotLagBytes, AtomicLong::get)
                .baseUnit("bytes").description("WAL written since the slot's confirmed position").tag("slot", config.slot()).register(metrics);
        Gauge.builder("pgrouter.wal.slot.lag.over.limit", lagOverLimit, AtomicLong::get)
                .description("1 while the slot lags more than pgrouter.wal.max-lag-bytes behind the WAL").tag("slot", config.slot()).register(metrics);
        this.postgres = postgres;
        this.config = config;
        this.dispatcher = dispatcher;
        this.deadLetters = deadLetters;
        this.backfills = new Backfills(postgres);
        this.backfillProgress = new BackfillProgress(backfills, metrics);
        this.mapper = new EventMapper(postgres.database(), (schema, table) -> {
            Map<String, ReplicaIdentity> ofSchema = identities.get(schema);
            return ofSchema == null ? null : ofSchema.get(table);
        });
    }

    @Override
    public void subscribe(PgConsumer consumer) throws SQLException {
        Set<String> missing = new TreeSet<>(consumer.subscription().tables());
        if (!missing.isEmpty()) {
            missing.removeAll(existingTables(missing));
            if (!missing.isEmpty()) {
                throw new IllegalArgumentException("subscribes to " + String.join(", ", missing) + ", which "
                        + (missing.size() == 1 ? "does" : "do") + " not exist in database " + postgres.database());
            }
        }
        // a route added while streaming (a reload) is routed from the next batch on; new tables: see routesChanged
        consumers.add(consumer);
    }

    @Override
    public void unsubscribe(PgConsumer consumer) {
        consumers.remove(consumer);
    }

    public synchronized void start() {
        if (consumers.isEmpty() || engine != null) return;
        stopping = false;
        deadLetters.ensureSchema();
        backfills.ensureSchema();
        backfillProgress.load(consumers);
        moveOffsetToOwnTable();
        tables = publishedTables();
        new WalPreflight(postgres, config).check(tables);
        readReplicaIdentities();
        signalsPublished = signalsPublished();
        scheduler = Executors.newSingleThreadScheduledExecutor(r -> new Thread(r, "pgrouter-wal-watch"));
        scheduler.scheduleWithFixedDelay(this::watch, WATCH_MS, WATCH_MS, TimeUnit.MILLISECONDS);
        launch();
    }

    /** The published tables' replica identities for the event mapper, and one warning per table without FULL. */
    private void readReplicaIdentities() {
        Map<String, ReplicaIdentity> read;
        try (Connection c = postgres.open()) {
            read = ReplicaIdentities.read(c, tables);
        } catch (SQLException e) {
            throw new IllegalStateException("cannot read the replica identities of " + tables + ": " + e.getMessage(), e);
        }
        Map<String, Map<String, ReplicaIdentity>> bySchema = new HashMap<>();
        read.forEach((qualified, identity) -> {
            String[] parts = qualified.split("\\.", 2);
            bySchema.computeIfAbsent(parts[0], k -> new HashMap<>()).put(parts[1], identity);
        });
        identities = bySchema;
        ReplicaIdentities.warnings(read, config.publication()).forEach(LOG::warn);
    }

    private synchronized void launch() {
        if (stopping) return;
        restartPending = false;
        OffsetGapCheck offsets = new OffsetGapCheck(postgres, config);
        com.fasterxml.jackson.databind.JsonNode stored = offsets.storedOffset();
        String gap = offsets.gap(stored, markedUpTo);
        if (gap != null) {
            // Debezium would silently resume from the slot's position: refuse, say why, and check again later
            state = SourceState.down(gap);
            if (!gap.equals(reportedGap)) LOG.error(gap);
            reportedGap = gap;
            restartDelayMs = config.maxRestartBackoffMs();
            scheduleRestart();
            return;
        }
        state = SourceState.down("starting Debezium on slot " + config.slot());
        DebeziumEngine<ChangeEvent<SourceRecord, SourceRecord>>[] self = new DebeziumEngine[1];
        Properties properties = engineProperties(postgres.config(), config, tables, signalsPublished);
        // JMX names of their own: a run abandoned on a dead connection keeps its MBeans until that connection fails, and
        // Debezium would make the next run wait for them (up to a minute)
        properties.setProperty("custom.metric.tags", "run=" + runs.incrementAndGet());
        self[0] = DebeziumEngine.create(Connect.class)
                .using(properties)
                .using(new DebeziumEngine.ConnectorCallback() {
                    @Override
                    public void taskStarted() {
                        if (engine != self[0]) return;
                        state = SourceState.up("streaming from slot " + config.slot() + " (publication " + config.publication() + ")");
                        outageReported = false;
                        reportedGap = null;
                        LOG.infof("WAL source streaming from slot %s for tables %s", config.slot(), tables);
                    }
                })
                .using((success, message, error) -> onEngineStopped(self[0], message, error))
                // records of this engine run not marked processed yet, oldest first (only its thread touches them)
                .notifying(new BatchConsumer(self, ReplayedRecords.after(stored)))
                .build();
        engine = self[0];
        slotInactiveSince = 0;
        // a thread per engine run: a run that hangs on a dead connection must not hold up the next one
        Thread thread = new Thread(engine, "pgrouter-wal");
        thread.setDaemon(true);
        thread.start();
    }

    /** Why a replaced run refuses its last batch (not an error: the engine is being closed). */
    static final String REPLACED = "WAL stream replaced for a new route set";

    /**
     * The route set changed (called between two batches, see {@link EventDispatcher#betweenBatches}): when the routes
     * now need tables the stream does not publish, the running stream is retired at once (a batch it already polled is
     * neither routed nor marked) and {@link #restartForRoutes()} must follow, outside the batch boundary.
     *
     * @return whether a restart is needed
     */
    public synchronized boolean routesChanged() {
        if (stopping || tables == null) return false;
        Set<String> wanted = publishedTables();
        if (wanted.equals(tables)) return false;
        retired = engine;
        engine = null;
        return true;
    }

    /** Restarts the stream on the routes' tables: the retired run is closed first (its offset stored), then a new one starts. */
    public void restartForRoutes() {
        DebeziumEngine<?> old;
        synchronized (this) {
            old = retired;
            retired = null;
        }
        if (old != null) {
            try {
                old.close();
            } catch (Exception e) {
                LOG.debugf("closing the WAL stream replaced for new routes: %s", e.toString());
            }
        }
        synchronized (this) {
            if (stopping || engine != null) return;
            Set<String> before = tables;
            tables = publishedTables();
            new WalPreflight(postgres, config).check(tables);
            readReplicaIdentities();
            LOG.infof("WAL source restarting for the new routes' tables %s (was %s)", tables, before);
            restartDelayMs = 500;
            launch();
            if (config.backfillNewTables()) backfillNew(before);
        }
    }

    /** pgrouter.wal.backfill-new-tables: the existing rows of each table the new routes read and the stream did not. */
    private void backfillNew(Set<String> before) {
        for (String table : tables) {
            if (before != null && before.contains(table)) continue;
            try {
                Backfills.Backfill b = backfills.request(table, null, null, null);
                LOG.infof("backfill %s of the new routes' table %s requested (pgrouter.wal.backfill-new-tables): %d rows", b.id(), table, b.total());
            } catch (SQLException | RuntimeException e) {
                LOG.errorf("the backfill of the new routes' table %s could not be requested: %s; run bin/pgrouter backfill --table %s", table,
                        e.getMessage(), table);
            }
        }
    }

    /** Health data of the backfills: running ones with their progress, the last finished one of each table. */
    public Map<String, String> backfillState() {
        return backfillProgress.health();
    }

    private synchronized void onEngineStopped(DebeziumEngine<?> stopped, String message, Throwable error) {
        if (stopping || stopped != engine) return;
        String reason = error != null ? rootMessage(error) : message;
        state = SourceState.down("Debezium engine stopped: " + reason);
        if (error != null && io.pgrouter.postgres.PostgresErrors.connectionLost(error)) {
            // a PostgreSQL restart or a network cut: expected, and handled by reconnecting; said once per outage. A
            // connection attempt is cheap: tried at least every RECONNECT_MAX_MS, so streaming resumes soon after the
            // server is back (with pgrouter.wal.max-restart-backoff-ms it came back up to 30 s later)
            restartDelayMs = Math.min(restartDelayMs, Math.min(RECONNECT_MAX_MS, config.maxRestartBackoffMs()));
            if (outageReported) {
                LOG.debugf("WAL source still cannot reach PostgreSQL (%s); trying again in %d ms", firstLine(reason), restartDelayMs);
            } else {
                LOG.warnf("WAL source lost its connection to PostgreSQL (%s); reconnecting in %d ms", firstLine(reason), restartDelayMs);
            }
            outageReported = true;
        } else if (io.pgrouter.postgres.PostgresErrors.slotInUse(error)) {
            // another consumer streams the slot (a previous leader still stopping): wait quietly for its release
            state = SourceState.down("slot " + config.slot() + " is streamed by another consumer (" + firstLine(reason) + "); waiting for it to be released");
            if (outageReported) LOG.debug(state.detail());
            else LOG.warn(state.detail());
            outageReported = true;
        } else if (sameFailure(reason)) {
            LOG.debugf("WAL source stopped again the same way (%s); restarting in %d ms", reason, restartDelayMs);
        } else {
            LOG.errorf("WAL source stopped (%s); restarting in %d ms (the same failure again within a minute is logged at DEBUG)", reason,
                    restartDelayMs);
        }
        scheduleRestart();
    }

    /** The last engine failure, and when: a failure that repeats (a full disk, a sink's store down) is logged once. */
    private String reportedFailure;
    private long reportedFailureAt;

    /**
     * Whether the engine failed as it did less than a minute before. Batches may go through in between (those without
     * an event for the failing sink), so "until a batch goes through" would not keep a full disk to one line.
     */
    private boolean sameFailure(String reason) {
        long now = System.currentTimeMillis();
        boolean same = reason.equals(reportedFailure) && now - reportedFailureAt < 60_000;
        reportedFailure = reason;
        reportedFailureAt = now;
        return same;
    }

    private void scheduleRestart() {
        if (restartPending) return;
        restartPending = true;
        long delay = restartDelayMs;
        restartDelayMs = Math.min(restartDelayMs * 2, config.maxRestartBackoffMs());
        scheduler.schedule(this::launch, delay, TimeUnit.MILLISECONDS);
    }

    /**
     * Debezium can report a running task while its replication connection died with a PostgreSQL restart (seen
     * here); the slot tells the truth. Inactive for longer than the grace period: health DOWN and a fresh engine.
     */
    private void watch() {
        try {
            boolean active = slotActive();
            // each of its queries would wait for the connect timeout too: the slot check says PostgreSQL is away
            if (unreachable == null) backfillProgress.store(tables, consumers);
            guardRetention(active);
            synchronized (this) {
                if (stopping || restartPending) return;
                if (postgresShuttingDown && engine != null) {
                    // a fast shutdown waits for this walsender's client to confirm the last WAL; the router stores that
                    // position in the database that is stopping, so it never could: let go, and reconnect when it is back
                    restartDelayMs = Math.min(restartDelayMs, Math.min(RECONNECT_MAX_MS, config.maxRestartBackoffMs()));
                    int closed = io.pgrouter.postgres.ReleasableSockets.closeAll(config.slot());
                    LOG.debugf("closed %d connections of the WAL source's engine: PostgreSQL is shutting down", closed);
                    replaceEngine("PostgreSQL is shutting down; the replication connection is closed so that it can, and "
                            + "the router reconnects when it accepts connections again");
                    return;
                }
                if (active) {
                    slotInactiveSince = 0;
                    if (state.up()) restartDelayMs = 500;
                    return;
                }
                long now = System.currentTimeMillis();
                if (slotInactiveSince == 0) {
                    slotInactiveSince = now;
                } else if (now - slotInactiveSince > config.stallTimeoutMs()) {
                    String why = unreachable;
                    // cut off by the network, its walsender may still hold the slot once PostgreSQL is reachable again
                    abandonedPid = why != null ? streamingPid : 0;
                    replaceEngine(why != null
                            ? why + "; no answer for " + (now - slotInactiveSince) + " ms: restarting the Debezium engine"
                            : "slot " + config.slot() + " has had no active consumer for " + (now - slotInactiveSince) + " ms; restarting the Debezium engine");
                }
            }
        } catch (RuntimeException e) {
            LOG.warn("WAL watchdog failed", e);
        }
    }

    /** The watchdog gives up on the running engine: health DOWN with the reason (one WARN per outage), a fresh engine later. */
    private void replaceEngine(String reason) {
        state = SourceState.down(reason);
        if (outageReported) LOG.debug(reason);
        else LOG.warn(reason);
        outageReported = true;
        closeQuietly(engine);
        engine = null;
        scheduleRestart();
    }

    /** The slot's confirmed position at the last look, and since when it has stood there with WAL behind it (0: not). */
    private String confirmedLsn;
    private long confirmedStillSince;

    private void confirmedMoves(String lsn, long lagBytes) {
        if (lagBytes <= 0 || lsn == null || !lsn.equals(confirmedLsn)) {
            confirmedStillSince = lagBytes > 0 ? System.currentTimeMillis() : 0;
        } else if (confirmedStillSince == 0) {
            confirmedStillSince = System.currentTimeMillis();
        }
        confirmedLsn = lsn;
    }

    /**
     * The WAL retention guard: PostgreSQL keeps every WAL segment the slot has not confirmed, so a slot held back fills
     * the database's disk. Above pgrouter.wal.max-lag-bytes the readiness data says DEGRADED with what holds the slot
     * back, a gauge is 1, and one warning says so when the lag crosses the limit (one line again when it falls back).
     */
    private void guardRetention(boolean active) {
        long max = config.maxLagBytes();
        long lag = slotLagBytes.get();
        long since = confirmedStillSince;
        long stillSeconds = since == 0 ? 0 : (System.currentTimeMillis() - since) / 1000;
        boolean overTime = config.maxLagSeconds() > 0 && stillSeconds > config.maxLagSeconds();
        boolean over = max > 0 && lag > max || overTime;
        String limit = max > 0 ? "pgrouter.wal.max-lag-bytes = " + bytes(max) : "guard off (pgrouter.wal.max-lag-bytes = 0)";
        if (config.maxLagSeconds() > 0) limit += ", pgrouter.wal.max-lag-seconds = " + config.maxLagSeconds();
        if (!over) {
            if (PARK.equals(config.onMaxLag())) destinations.stopParkingSlow();
            if (lagOverLimit.getAndSet(0) == 1) LOG.infof("slot %s is back within the WAL retention guard's limits: %s behind the WAL", config.slot(), bytes(lag));
            retention = "ok: slot " + config.slot() + " is " + bytes(lag) + " behind the WAL (" + limit + ")";
            return;
        }
        String degraded = "DEGRADED: slot " + config.slot() + " is " + bytes(lag) + " behind the WAL"
                + (overTime ? " and has not moved for " + stillSeconds + " s" : "") + ", above " + limit
                + "; PostgreSQL keeps that WAL on its disk until the slot moves. Held back by: " + holdingBack(active);
        long routing = batchSince;
        if (PARK.equals(config.onMaxLag()) && routing != 0 && System.currentTimeMillis() - routing > WATCH_MS) {
            // the batch that holds the slot waits for the destinations it is sending to right now
            List<String> parked = destinations.parkSlow(0);
            if (!parked.isEmpty()) degraded += "; new events of " + String.join(", ", parked) + " go to the retry store (pgrouter.wal.on-max-lag=park)";
        }
        retention = degraded;
        if (lagOverLimit.getAndSet(1) == 0) LOG.warn(retention);
    }

    /** What keeps the slot's confirmed position behind, as far as this router can tell. */
    private String holdingBack(boolean active) {
        List<String> why = new ArrayList<>();
        if (!active) why.add("no consumer streams the slot (the WAL source is reconnecting, stopped, or another process holds it)");
        long since = batchSince;
        long now = System.currentTimeMillis();
        if (since != 0 && now - since > WATCH_MS) {
            why.add("one batch has been routing for " + (now - since) / 1000 + " s, now in route " + dispatcher.walRoute()
                    + " (its sink's destination answers slowly or not at all; a destination counted as down parks events in the retry store instead)");
        }
        String lingering = heldBy;
        if (lingering != null) why.add("the " + lingering + " sink holds events in memory across batches (its linger or roll settings)");
        if (why.isEmpty()) why.add("no route or sink: the router is reading a large backlog of WAL (a large transaction, or catching up after a stop)");
        return String.join("; ", why);
    }

    static String bytes(long n) {
        if (n < 1024 * 1024) return String.format(java.util.Locale.ROOT, "%.1f KiB", n / 1024.0);
        if (n < 1024L * 1024 * 1024) return String.format(java.util.Locale.ROOT, "%.1f MiB", n / (1024.0 * 1024));
        return String.format(java.util.Locale.ROOT, "%.2f GiB", n / (1024.0 * 1024 * 1024));
    }

    /** Whether this source was started (it has routes) and is not stopped: then it watches its slot. */
    public boolean running() {
        return tables != null && !stopping;
    }

    /** The WAL retention guard's status for readiness data: ok, or DEGRADED with what holds the slot back. */
    public String retention() {
        return retention;
    }

    /** Whether the last look at the slot found PostgreSQL shutting down (set by {@link #slotActive()}). */
    private volatile boolean postgresShuttingDown;

    /**
     * Whether the slot has an active consumer; also records how far it lags behind the WAL (a metric). The replication
     * connection itself does not notice a network that drops packets silently (it only reads what arrives, and its
     * status updates wait in the send buffer), so this check, on a connection of its own that must answer within
     * pgrouter.postgres.connect-timeout-seconds, is what notices it; {@link #unreachable} says why it could not.
     */
    private boolean slotActive() {
        postgresShuttingDown = false;
        try (Connection c = postgres.open()) {
            c.setNetworkTimeout(Runnable::run, (int) TimeUnit.SECONDS.toMillis(postgres.config().connectTimeoutSeconds()));
            try (PreparedStatement ps = c.prepareStatement("SELECT active, (pg_current_wal_lsn() - confirmed_flush_lsn)::bigint, "
                    + "coalesce(active_pid, 0), confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = ?")) {
                ps.setString(1, config.slot());
                try (ResultSet rs = ps.executeQuery()) {
                    unreachable = null;
                    if (!rs.next()) return false;
                    slotLagBytes.set(rs.getLong(2));
                    confirmedMoves(rs.getString(4), rs.getLong(2));
                    int pid = rs.getInt(3);
                    if (pid != 0 && pid == abandonedPid) return endAbandoned(c, pid);
                    abandonedPid = 0;
                    streamingPid = pid;
                    return rs.getBoolean(1);
                }
            }
        } catch (SQLException e) {
            postgresShuttingDown = io.pgrouter.postgres.PostgresErrors.shuttingDown(e);
            if (io.pgrouter.postgres.PostgresErrors.connectionLost(e)) {
                if (unreachable == null) unreachableSince = System.currentTimeMillis();
                unreachable = "PostgreSQL at " + postgres.location().host() + ":" + postgres.location().port() + " is unreachable: " + rootMessage(e);
            }
            return false;
        }
    }

    /**
     * The slot is still streamed by the replication connection of a stream this router replaced when PostgreSQL stopped
     * answering (a network cut): that connection is this router's own and dead, and PostgreSQL would hold the slot for it
     * until its wal_sender_timeout or until the connection's TCP retransmissions get through. It is ended now, so the new
     * stream can take the slot. Returns false: the slot is not streamed by the running engine.
     */
    private boolean endAbandoned(Connection c, int pid) {
        try (PreparedStatement ps = c.prepareStatement("SELECT pg_terminate_backend(?)")) {
            ps.setInt(1, pid);
            try (ResultSet rs = ps.executeQuery()) {
                if (rs.next() && rs.getBoolean(1)) {
                    LOG.infof("ended the replication connection of the replaced WAL stream (backend %d), which still held slot %s", pid, config.slot());
                }
            }
            synchronized (this) {
                // the running engine gets a full stall timeout to take the slot once that backend has exited
                if (slotInactiveSince != 0) slotInactiveSince = System.currentTimeMillis();
            }
        } catch (SQLException e) {
            LOG.debugf("could not end backend %d, which still holds slot %s for a replaced WAL stream: %s", pid, config.slot(), e.getMessage());
        }
        return false;
    }

    private static void closeQuietly(DebeziumEngine<?> engine) {
        if (engine == null) return;
        // closing waits for the engine's threads; a hung one must not block the watchdog
        Thread closer = new Thread(() -> {
            try {
                engine.close();
            } catch (Exception e) {
                LOG.debug("closing a stalled Debezium engine failed", e);
            }
        }, "pgrouter-wal-close");
        closer.setDaemon(true);
        closer.start();
    }

    /** The error chain in one line, with any password Debezium puts in its messages (its config map) masked. */
    private static String firstLine(String text) {
        int nl = text.indexOf('\n');
        return nl < 0 ? text : text.substring(0, nl);
    }

    static String rootMessage(Throwable error) {
        Throwable t = error;
        StringBuilder s = new StringBuilder(String.valueOf(t.getMessage()));
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
            if (t.getMessage() != null && !s.toString().contains(t.getMessage())) s.append(": ").append(t.getMessage());
        }
        return s.toString().replaceAll("(?i)(password[^=,{}\\s]*=)[^,}\\s]*", "$1****");
    }

    /** How long a clean stop waits for the batch in progress before it flushes the sinks. */
    private static final long STOP_FLUSH_WAIT_MS = 10_000;

    /** The consumer of the engine run that streams now: on a clean stop it marks what the sinks delivered since. */
    private volatile BatchConsumer current;

    /** Routes the batches of one engine run; keeps its records not marked processed yet, oldest first. */
    private final class BatchConsumer implements DebeziumEngine.ChangeConsumer<ChangeEvent<SourceRecord, SourceRecord>> {
        private final DebeziumEngine<?>[] run;
        // only the engine's thread touches these, or a stop between two of its batches (under the dispatcher's lock)
        private final java.util.ArrayDeque<Unmarked> unmarked = new java.util.ArrayDeque<>();
        private DebeziumEngine.RecordCommitter<ChangeEvent<SourceRecord, SourceRecord>> committer;
        private final ReplayedRecords replayed;

        BatchConsumer(DebeziumEngine<?>[] run, ReplayedRecords replayed) {
            this.run = run;
            this.replayed = replayed;
            current = this;
        }

        @Override
        public void handleBatch(List<ChangeEvent<SourceRecord, SourceRecord>> records,
                DebeziumEngine.RecordCommitter<ChangeEvent<SourceRecord, SourceRecord>> committer) throws InterruptedException {
            dispatcher.enterBatch();
            batchSince = System.currentTimeMillis();
            try {
                // a run replaced while this batch waited (the routes' tables changed): none of it is routed
                // or marked; the next run reads it again, with the new routes
                if (engine != run[0]) throw new IllegalStateException(REPLACED);
                this.committer = committer;
                WalSource.this.handleBatch(records, committer, unmarked, replayed);
            } finally {
                batchSince = 0;
                dispatcher.leaveBatch();
            }
        }

        /**
         * After every sink delivered what it held (between two batches): the newest record routed is marked
         * processed, so the engine's last offset commit, when it closes, stores it and a restart does not send the
         * lingering sinks' last events again.
         */
        void markAllDelivered() throws InterruptedException {
            if (committer != null) markProcessedBelow(unmarked, committer, Long.MAX_VALUE);
        }
    }

    /** A record routed but not yet marked processed: a sink still held an event at or before it. */
    private record Unmarked(long sequence, ChangeEvent<SourceRecord, SourceRecord> record) {
    }

    void handleBatch(List<ChangeEvent<SourceRecord, SourceRecord>> records,
            DebeziumEngine.RecordCommitter<ChangeEvent<SourceRecord, SourceRecord>> committer, java.util.ArrayDeque<Unmarked> unmarked,
            ReplayedRecords replayed) throws InterruptedException {
        for (ChangeEvent<SourceRecord, SourceRecord> record : records) {
            if (BackfillProgress.isNotification(record.value())) {
                // Debezium's word on a backfill: out of band, no position of its own to store
                backfillProgress.notification(record.value(), consumers);
                continue;
            }
            if (replayed.skip(record.value().sourceOffset())) {
                // processed before the last stop, sent again by Debezium: marked, not routed
                unmarked.add(new Unmarked(dispatcher.nextSequence(), record));
                continue;
            }
            try {
                long sequence = dispatcher.nextSequence();
                unmarked.add(new Unmarked(sequence, record));
                // the rows of one statement's message share the record's sequence: the record is done when all of them are
                for (CanonicalEvent event : mapper.fromDebezium(record.value())) {
                    dispatcher.dispatch("wal", skipMarks.mark(event), backfillProgress.consumersFor(event, record.value(), consumers), sequence);
                }
            } catch (InterruptedException e) {
                throw e;
            } catch (Exception e) {
                // the event is neither delivered nor recorded: stop here so the position stays before it
                throw new IllegalStateException("cannot finish WAL record at " + record.value().sourceOffset() + ": " + e.getMessage(), e);
            }
        }
        long held;
        try {
            EventDispatcher.Held oldest = dispatcher.endOfBatch();
            held = oldest.sequence();
            heldBy = oldest.sink();
        } catch (Exception e) {
            throw new IllegalStateException("a sink could not make the batch durable: " + e.getMessage(), e);
        }
        backfillProgress.afterBatch(consumers);
        // only now, and only below the oldest event a lingering sink still holds: Debezium may store any position
        // marked processed (records of earlier batches are marked through this batch's committer: one offset writer)
        // Marking the newest such record is enough: Debezium keeps only the latest offset (one partition, positions only
        // grow), and marking each record cost a map update per event (~5 % of this thread in a profile).
        markProcessedBelow(unmarked, committer, held);
        committer.markBatchFinished();
    }

    /**
     * The furthest slot position this process marked processed (Debezium may confirm it to the slot before its offset
     * store has it); -1 before any. A slot found at or below it after a reconnect moved there by this router's own
     * confirmation, not by someone else: not a gap (see {@link OffsetGapCheck}).
     */
    private volatile long markedUpTo = -1;

    /** Marks processed the newest of the records routed before sequence {@code held}, and forgets them all. */
    private void markProcessedBelow(java.util.ArrayDeque<Unmarked> unmarked,
            DebeziumEngine.RecordCommitter<ChangeEvent<SourceRecord, SourceRecord>> committer, long held) throws InterruptedException {
        ChangeEvent<SourceRecord, SourceRecord> newest = null;
        while (!unmarked.isEmpty() && unmarked.peekFirst().sequence() < held) newest = unmarked.pollFirst().record();
        if (newest == null) return;
        Long position = OffsetGapCheck.confirmedBy(newest.value().sourceOffset());
        if (position != null && position > markedUpTo) markedUpTo = position;
        committer.markProcessed(newest);
    }

    public void stop() {
        stop(false);
    }

    /**
     * @param deliverHeld a clean stop (shutdown, not a lost Lease, which must stop streaming at once): first the sinks
     *        deliver what they hold and the position is stored past it, so the next start does not send it again
     */
    public void stop(boolean deliverHeld) {
        BatchConsumer last = current;
        if (deliverHeld && last != null && engine != null) {
            // a clean stop: the sinks deliver what they hold, between two batches, and the position moves past it
            try {
                dispatcher.betweenBatches(() -> {
                    last.markAllDelivered();
                    return null;
                }, STOP_FLUSH_WAIT_MS);
            } catch (Exception e) {
                LOG.infof("the WAL source stops without storing the position of the last events the sinks held (%s): they are delivered again "
                        + "after the next start", e.toString());
            }
        }
        DebeziumEngine<?> running;
        synchronized (this) {
            stopping = true;
            running = engine;
            engine = null;
            if (scheduler != null) scheduler.shutdownNow();
        }
        if (running != null) {
            try {
                running.close();
            } catch (Exception e) {
                LOG.warn("closing the Debezium engine failed", e);
            }
        }
        deadLetters.close();
    }

    public SourceState state() {
        SourceState current = state;
        String why = unreachable;
        // the reason of every state while PostgreSQL cannot be reached (the engine's restarts only say they failed)
        if (why != null) return SourceState.down(why + " (since " + java.time.Instant.ofEpochMilli(unreachableSince) + ")");
        long since = slotInactiveSince;
        if (current.up() && since != 0) {
            return SourceState.down("slot " + config.slot() + " has no active consumer since " + java.time.Instant.ofEpochMilli(since));
        }
        return current;
    }

    Set<String> publishedTables() {
        Set<String> tables = new TreeSet<>();
        consumers.forEach(c -> tables.addAll(c.subscription().tables()));
        config.tables().ifPresent(tables::addAll);
        return tables;
    }

    /** How long tables seen to exist are trusted without another query. */
    private static final long KNOWN_TABLES_NANOS = java.util.concurrent.TimeUnit.SECONDS.toNanos(5);
    private volatile Set<String> knownTables = Set.of();
    private volatile long knownTablesAt;

    /**
     * The wanted tables that exist. One query lists every table and the answer is trusted for a few seconds, so a folder
     * of routes (start-up, a reload, {@code routes check}) costs one connection, not one per route; a table not among
     * them is always looked up afresh (a table created a moment ago is found).
     */
    private Set<String> existingTables(Set<String> wanted) throws SQLException {
        Set<String> known = knownTables;
        if (System.nanoTime() - knownTablesAt < KNOWN_TABLES_NANOS && known.containsAll(wanted)) return new TreeSet<>(wanted);
        Set<String> all = new java.util.HashSet<>();
        try (Connection c = postgres.open();
                PreparedStatement ps = c.prepareStatement("SELECT n.nspname || '.' || c.relname FROM pg_class c "
                        + "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') "
                        + "AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'");
                ResultSet rs = ps.executeQuery()) {
            while (rs.next()) all.add(rs.getString(1));
        }
        knownTables = all;
        knownTablesAt = System.nanoTime();
        Set<String> found = new TreeSet<>(wanted);
        found.retainAll(all);
        return found;
    }

    /**
     * The table of this slot's stored position. Debezium's JDBC offset store rewrites its whole table at every save
     * (deletes every row, inserts the map it loaded at start plus its own): two routers on different slots sharing one
     * table would each put the other's position back to an old value. The default slot keeps the original name.
     */
    static String offsetsTable(String slot) {
        return "pgrouter".equals(slot) ? "debezium_offsets" : "debezium_offsets_" + slot;
    }

    /**
     * A slot other than the default one whose position was stored in the shared table by an earlier version: the row
     * is copied into the slot's own table before Debezium reads it (so nothing is read again).
     */
    private void moveOffsetToOwnTable() {
        String own = offsetsTable(config.slot());
        if (own.equals("debezium_offsets")) return;
        String schema = postgres.schema();
        try (Connection c = postgres.open(); var s = c.createStatement()) {
            try (ResultSet rs = s.executeQuery("SELECT to_regclass('" + schema + "." + own + "') IS NULL AND to_regclass('" + schema
                    + ".debezium_offsets') IS NOT NULL")) {
                if (!rs.next() || !rs.getBoolean(1)) return;
            }
            try (PreparedStatement ps = c.prepareStatement("SELECT count(*) FROM " + schema + ".debezium_offsets WHERE offset_key LIKE ?")) {
                ps.setString(1, offsetKeyPattern(engineName(config)));
                try (ResultSet rs = ps.executeQuery()) {
                    if (!rs.next() || rs.getLong(1) == 0) return;
                }
            }
            s.execute("CREATE TABLE " + schema + "." + own + " (LIKE " + schema + ".debezium_offsets INCLUDING ALL)");
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO " + schema + "." + own + " SELECT * FROM " + schema
                    + ".debezium_offsets WHERE offset_key LIKE ?")) {
                ps.setString(1, offsetKeyPattern(engineName(config)));
                ps.executeUpdate();
            }
            LOG.infof("the stored position of slot %s moved to its own table %s.%s", config.slot(), schema, own);
        } catch (SQLException e) {
            LOG.warnf("could not move the stored position of slot %s to its own table: %s", config.slot(), e.getMessage());
        }
    }

    /** LIKE pattern of the offset keys Debezium stores for an engine: {@code ["<engine name>",{...}]}. */
    static String offsetKeyPattern(String engineName) {
        return "[\"" + engineName + "\"%";
    }

    static String engineName(WalConfig config) {
        return "pgrouter-" + config.slot();
    }

    /**
     * A publication made by another role (sql/least-privilege.sql) cannot be altered by the router: unless it carries
     * the signal table, backfills are off, said once with the fix.
     */
    private boolean signalsPublished() {
        String signals = Backfills.signalCollection(postgres.config().schema());
        try (Connection c = postgres.open();
                PreparedStatement ps = c.prepareStatement("SELECT pg_has_role(current_user, p.pubowner, 'USAGE') OR EXISTS (SELECT 1 FROM "
                        + "pg_publication_tables t WHERE t.pubname = p.pubname AND t.schemaname || '.' || t.tablename = ?) "
                        + "FROM pg_publication p WHERE p.pubname = ?")) {
            ps.setString(1, signals);
            ps.setString(2, config.publication());
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next() || rs.getBoolean(1)) return true;
            }
        } catch (SQLException e) {
            LOG.debugf("cannot check whether publication %s carries %s: %s", config.publication(), signals, e.getMessage());
            return true;
        }
        LOG.warnf("backfills are off: publication %s, made by another role, does not carry %s, through which backfill requests reach the "
                + "router; have its owner run ALTER PUBLICATION %s ADD TABLE %s; then restart the router", config.publication(), signals,
                config.publication(), signals);
        return false;
    }

    /** Debezium's settings for the WAL source; the event mapper relies on the value encodings chosen here. */
    public static Properties engineProperties(PostgresConfig pg, WalConfig config, Set<String> tables) {
        return engineProperties(pg, config, tables, true);
    }

    /** @param withSignals whether the signal table is published (backfills on) */
    static Properties engineProperties(PostgresConfig pg, WalConfig config, Set<String> tables, boolean withSignals) {
        PostgresLocation location = PostgresLocation.parse(pg.url());
        Properties p = new Properties();
        p.setProperty("name", engineName(config));
        p.setProperty("connector.class", "io.debezium.connector.postgresql.PostgresConnector");
        p.setProperty("topic.prefix", "pgrouter");
        p.setProperty("plugin.name", "pgoutput");
        p.setProperty("slot.name", config.slot());
        if (config.slotFailover()) {
            // the preflight creates the slot; Debezium creates it only if it was dropped meanwhile, then with failover too
            p.setProperty("slot.failover", "true");
            // a slot synchronised to a promoted standby is the authority: the offsets table reaches the standby asynchronously
            p.setProperty("offset.mismatch.strategy", "trust_slot");
        }
        p.setProperty("publication.name", config.publication());
        p.setProperty("publication.autocreate.mode", "filtered");
        p.setProperty("database.hostname", location.host());
        p.setProperty("database.port", Integer.toString(location.port()));
        p.setProperty("database.dbname", location.database());
        p.setProperty("database.user", pg.user());
        pg.password().ifPresent(v -> p.setProperty("database.password", v));
        // passed on to pgjdbc: a connection attempt into a network that drops packets fails after this, not minutes later
        p.setProperty("database.connectTimeout", Integer.toString(pg.connectTimeoutSeconds()));
        // sockets the router can close itself when PostgreSQL shuts down (ReleasableSockets says why); pgjdbc loads the
        // class with its own class loader, which sees the router's classes in the packaged application (not in every
        // test class loader: there the engine keeps pgjdbc's default sockets)
        if (io.pgrouter.postgres.ReleasableSockets.visibleTo(org.postgresql.Driver.class)) {
            p.setProperty("database.socketFactory", io.pgrouter.postgres.ReleasableSockets.class.getName());
            p.setProperty("database.socketFactoryArg", config.slot());
        }
        io.pgrouter.postgres.PostgresTls.parse(pg.url()).applyTo(p);
        List<String> patterns = new ArrayList<>();
        tables.forEach(t -> patterns.add(t.replace(".", "\\.")));
        // the signal table is published too: Debezium reads backfill requests and its own chunk watermarks from the WAL
        String signals = Backfills.signalCollection(pg.schema());
        if (withSignals) patterns.add(signals.replace(".", "\\."));
        // with no table subscribed (messages only) publish nothing: a name that matches no table
        p.setProperty("table.include.list", patterns.isEmpty() ? "pgrouter\\.__no_table__" : String.join(",", patterns));
        p.setProperty("signal.enabled.channels", "source");
        p.setProperty("signal.data.collection", signals);
        p.setProperty("incremental.snapshot.chunk.size", Integer.toString(config.backfillChunkSize()));
        // a watermark row is deleted once read: the signal table does not grow with every chunk
        p.setProperty("incremental.snapshot.watermarking.strategy", "insert_delete");
        p.setProperty("notification.enabled.channels", "sink");
        p.setProperty("notification.sink.topic.name", BackfillProgress.NOTIFICATIONS_TOPIC);
        p.setProperty("snapshot.mode", config.snapshotMode());
        p.setProperty("skipped.operations", "none");
        p.setProperty("tombstones.on.delete", "false");
        p.setProperty("decimal.handling.mode", "precise");
        p.setProperty("interval.handling.mode", "string");
        p.setProperty("hstore.handling.mode", "json");
        p.setProperty("binary.handling.mode", "bytes");
        p.setProperty("time.precision.mode", "adaptive_time_microseconds");
        p.setProperty("include.unknown.datatypes", "true");
        p.setProperty("poll.interval.ms", Long.toString(config.pollIntervalMs()));
        p.setProperty("max.batch.size", Integer.toString(config.maxBatchSize()));
        p.setProperty("max.queue.size", Integer.toString(config.maxBatchSize() * 4));
        p.setProperty("heartbeat.interval.ms", Long.toString(config.heartbeatIntervalMs()));
        // a non-transactional message moves the slot on quiet databases without a heartbeat table
        p.setProperty("heartbeat.action.query",
                "SELECT pg_logical_emit_message(false, '" + EventMapper.HEARTBEAT_PREFIX + "', now()::text)");
        p.setProperty("offset.storage", "io.debezium.storage.jdbc.offset.JdbcOffsetBackingStore");
        String sep = pg.url().contains("?") ? "&" : "?";
        p.setProperty("offset.storage.jdbc.connection.url", pg.url() + sep + "currentSchema=" + pg.schema() + "&connectTimeout="
                + pg.connectTimeoutSeconds() + "&socketTimeout=" + pg.socketTimeoutSeconds());
        p.setProperty("offset.storage.jdbc.connection.user", pg.user());
        // Debezium insists on a password; without one configured (trust or peer auth) any value is ignored
        p.setProperty("offset.storage.jdbc.connection.password", pg.password().orElse("unused"));
        p.setProperty("offset.storage.jdbc.table.name", offsetsTable(config.slot()));
        p.setProperty("offset.flush.interval.ms", Long.toString(config.offsetFlushIntervalMs()));
        // a failed store is retried by the next flush anyway; Debezium's default (5 attempts 3 s apart) kept a stopping
        // engine waiting on a database that is shutting down
        p.setProperty("offset.storage.jdbc.connection.wait.retry.delay.ms", "500");
        p.setProperty("offset.storage.jdbc.connection.retry.max.attempts", "2");
        p.setProperty("errors.max.retries", "0");
        // a slot still held by a connection that is ending (a replaced stream's, a previous leader's) is tried again
        // every second, for the minute Debezium's defaults (6 x 10 s) wait
        p.setProperty("slot.retry.delay.ms", "1000");
        p.setProperty("slot.max.retries", "60");
        return p;
    }
}
