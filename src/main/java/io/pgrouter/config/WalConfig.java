package io.pgrouter.config;

import java.util.List;
import java.util.Optional;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/** The WAL source: one logical replication slot shared by every {@code pg:wal} route. */
@ConfigMapping(prefix = "pgrouter.wal")
public interface WalConfig {

    @WithDefault("pgrouter")
    String slot();

    @WithDefault("pgrouter")
    String publication();

    /** Tables published in addition to the ones routes subscribe to. */
    Optional<List<String>> tables();

    /** Debezium's poll interval: lower is faster commit-to-route, higher is less idle CPU. */
    @WithDefault("20")
    long pollIntervalMs();

    @WithDefault("10000")
    long heartbeatIntervalMs();

    @WithDefault("1000")
    long offsetFlushIntervalMs();

    @WithDefault("2048")
    int maxBatchSize();

    /** Debezium snapshot mode: {@code no_data} streams from now on, {@code initial} first emits every row as a snapshot event. */
    @WithDefault("no_data")
    String snapshotMode();

    /** How long the slot may have no active consumer before the engine counts as stalled and is restarted. */
    @WithDefault("10000")
    long stallTimeoutMs();

    /** Rows a backfill reads per chunk (Debezium's incremental.snapshot.chunk.size): bigger is faster, and holds more in memory. */
    @WithDefault("4096")
    int backfillChunkSize();

    /** Backfill the existing rows of a table that a reloaded route reads and the stream did not (opt-in). */
    @WithDefault("false")
    boolean backfillNewTables();

    /**
     * The WAL retention guard: above this many bytes of WAL between the slot's confirmed position and the WAL's end,
     * readiness data says DEGRADED and names what holds the slot back, and one warning is logged. 0 turns it off.
     */
    @WithDefault("1073741824")
    long maxLagBytes();

    /**
     * The retention guard's time budget: the slot's confirmed position has not moved for this many seconds while WAL
     * was written behind it (a sink holds the stream back, or nothing streams the slot). 0 (the default) turns it off;
     * otherwise at least twice pgrouter.wal.heartbeat-interval-ms, which moves the slot on a quiet database.
     */
    @WithDefault("0")
    long maxLagSeconds();

    /**
     * What the retention guard does above its limits besides saying so: {@code none} (the default), or {@code park}:
     * a sink destination whose in-line attempt has waited longer than 2 s sends its new events to the retry store
     * (durable, in the router's schema) until the slot is within the limits again, so the slot moves on and the
     * database keeps that destination's backlog in a table instead of in WAL.
     */
    @WithDefault("none")
    String onMaxLag();

    /**
     * Create the slot as a failover slot (PostgreSQL 17+): a standby with {@code sync_replication_slots = on} keeps a copy
     * of it, so after the standby is promoted the router resumes from there with nothing lost.
     */
    @WithDefault("false")
    boolean slotFailover();

    /** Longest wait between restarts of a failed engine. */
    @WithDefault("30000")
    long maxRestartBackoffMs();
}
