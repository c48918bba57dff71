package io.pgrouter.sink.datalake;

import java.io.IOException;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;

import org.apache.camel.Consumer;
import org.apache.camel.Processor;
import org.apache.camel.Producer;
import org.apache.camel.support.DefaultEndpoint;
import org.apache.camel.support.DefaultProducer;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.jboss.logging.Logger;

import io.pgrouter.delivery.RoutedExchange;
import io.pgrouter.event.CanonicalEvent;
import io.pgrouter.delivery.BatchBoundary;
import io.pgrouter.delivery.SourceBuffers;

/**
 * One lake (target + format + layout). Files are kept per source ({@link SourceBuffers}): a source's {@link DatalakeComponent#flush()}
 * commits exactly the files holding its batch, so the NOTIFY source finishing a notification never commits, or
 * discards, a half-routed WAL batch.
 */
public class DatalakeEndpoint extends DefaultEndpoint {

    private static final Logger LOG = Logger.getLogger(DatalakeEndpoint.class);
    /** The sink's name in dead letters: its Kamelet's. */
    static final String SINK = "datalake-sink";
    private static final DateTimeFormatter START = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmssSSS'Z'").withZone(ZoneOffset.UTC);

    private String target;
    private String format = "jsonl";
    private String compression = "";
    private String partitioning = "table,date,hour";
    private long maxFileBytes = 128L << 20;
    private long maxFileRows = 1_000_000;
    private long maxFileAgeMs = 60_000;
    private int maxOpenFiles = 32;
    private long lingerMs;
    private String fields = MetaField.DEFAULT;
    private String s3Endpoint;
    private String s3Region = "us-east-1";
    private String s3AccessKey;
    private String s3SecretKey;
    private boolean s3PathStyle;
    private int s3PartBytes = 8 << 20;

    private LakeStorage storage;
    private Partitioning layout;
    private List<MetaField> meta;
    private boolean parquet;
    private CompressionCodecName codec;
    private final SourceBuffers<OpenFiles> bySource = new SourceBuffers<>(OpenFiles::new);

    DatalakeEndpoint(String uri, DatalakeComponent component) {
        super(uri, component);
    }

    void validate() {
        if (target == null || target.isBlank()) throw new IllegalArgumentException("datalake-sink needs target (a directory or s3://bucket/prefix)");
        format = format.toLowerCase(Locale.ROOT);
        if (!format.equals("jsonl") && !format.equals("parquet")) {
            throw new IllegalArgumentException("datalake-sink format must be jsonl or parquet, got " + format);
        }
        parquet = format.equals("parquet");
        compression = compression == null || compression.isBlank() ? (parquet ? "snappy" : "none") : compression.toLowerCase(Locale.ROOT);
        switch (compression) {
            case "none" -> codec = CompressionCodecName.UNCOMPRESSED;
            case "snappy" -> codec = CompressionCodecName.SNAPPY;
            case "zstd" -> codec = CompressionCodecName.ZSTD;
            case "gzip" -> codec = CompressionCodecName.GZIP;
            default -> throw new IllegalArgumentException("datalake-sink compression must be zstd, snappy, gzip or none, got " + compression);
        }
        if (!parquet && compression.equals("snappy")) {
            throw new IllegalArgumentException("datalake-sink: JSON Lines readers do not read snappy files; use zstd, gzip or none");
        }
        if (lingerMs < 0) throw new IllegalArgumentException("datalake-sink lingerMs must be 0 or more, got " + lingerMs);
        if (maxOpenFiles < 1 || maxFileRows < 1 || maxFileBytes < 1) {
            throw new IllegalArgumentException("datalake-sink maxOpenFiles, maxFileRows and maxFileBytes must be at least 1");
        }
        layout = Partitioning.parse(partitioning);
        meta = MetaField.parse(fields);
    }

    @Override
    protected void doStart() throws Exception {
        super.doStart();
        if (io.pgrouter.delivery.DryRun.on()) {
            // bin/pgrouter routes test: each committed file goes to the capture, nothing is written
            storage = new CapturedFiles(target);
        } else if (target.startsWith("s3://")) {
            storage = new S3Storage(target, s3Endpoint, s3Region, s3AccessKey, s3SecretKey, s3PathStyle, s3PartBytes);
        } else {
            LocalStorage local = new LocalStorage(Path.of(target.startsWith("file:") ? target.substring(5) : target));
            local.removeLeftovers();
            storage = local;
        }
        LOG.infof("data lake %s: %s, compression %s, partitioned by %s", storage.describe(), format, compression, partitioning);
    }

    @Override
    protected void doStop() throws Exception {
        bySource.forEach(OpenFiles::abortAll);
        bySource.clear();
        if (storage != null) storage.close();
        getComponent().forget(this);
        super.doStop();
    }

    @Override
    public Producer createProducer() {
        return new DefaultProducer(this) {
            @Override
            public void process(org.apache.camel.Exchange exchange) throws Exception {
                try {
                    append(event(exchange), exchange.getProperty(BatchBoundary.SEQUENCE, 0L, Long.class));
                } catch (IllegalArgumentException misfit) {
                    // dead-lettered by the dispatcher, under the Kamelet's name
                    throw new io.pgrouter.delivery.SinkDeliveryException(SINK, misfit.getMessage(), null, null, 1, misfit);
                }
            }
        };
    }

    /** The event the source handed over, unless a step before the sink replaced the body. */
    private static CanonicalEvent event(org.apache.camel.Exchange exchange) throws IOException {
        CanonicalEvent unchanged = RoutedExchange.unchangedEvent(exchange);
        return unchanged != null ? unchanged : CanonicalEvent.fromJson(exchange.getMessage().getBody(String.class));
    }

    /**
     * Adds the event's row to the open file of its partition. A value that does not fit its column throws (the
     * event is dead-lettered); a storage failure is kept and thrown by the next flush, so the whole source batch is
     * delivered again rather than this one event dead-lettered.
     */
    void append(CanonicalEvent event, long sequence) throws Exception {
        OpenFiles files = bySource.mine();
        synchronized (files) {
            append(files, event, sequence);
        }
    }

    private void append(OpenFiles files, CanonicalEvent event, long sequence) throws Exception {
        if (files.failure != null) return;
        LakeRow row = LakeRow.of(event);
        String time = row.time();
        String folder = layout.folder(row.folder(), time.endsWith("Z") ? time : java.time.Instant.parse(time).toString());
        String key = folder + '\u0000' + row.folder();
        try {
            if (row.mayLackColumns()) row = row.unsentOf(getComponent().catalogue().of(event.schema(), event.table()).keySet());
            LakeFile file = files.open.get(key);
            if (file instanceof LakeFile.Parquet p && !p.shape.covers(row)) {
                file = files.commit(key); // a column the file's schema lacks: a new file with the wider schema
            }
            if (file == null) file = files.create(key, folder, row, false);
            // only WAL events (with a position the source holds back for us) may wait in a file across source batches
            if (file.rows == 0) file.lingers = lingerMs > 0 && event.lsn() != null && sequence > 0;
            file.firstSequence = Math.min(file.firstSequence, sequence);
            try {
                file.write(row);
            } catch (IllegalArgumentException misfit) {
                // the column's type may have changed since the schema was read: a new file with the new types
                if (!(file instanceof LakeFile.Parquet p) || !files.typesChanged(p, row)) throw misfit;
                files.commit(key);
                file = files.create(key, folder, row, false);
                file.write(row);
            }
            if (file.rows >= maxFileRows || file.bytes() >= maxFileBytes || System.currentTimeMillis() - file.openedAt >= maxFileAgeMs) {
                files.commit(key);
            }
        } catch (IOException | SQLException e) {
            // the source's batch end fails with this error and says so, once: not once per event of the batch
            LOG.debugf("data lake %s: %s; the source batch will be delivered again", storage.describe(), e.getMessage());
            files.fail(e);
        }
    }

    /**
     * The end of a source batch on the calling thread: commits its files ({@code all}), or with a linger those not due
     * yet stay open. Discards what dead threads left (their source delivers those events again).
     *
     * @return the {@link BatchBoundary#SEQUENCE} of the oldest event still held in an open file, or Long.MAX_VALUE
     */
    long commitOpenFiles(boolean all) throws Exception {
        bySource.discardEnded(dead -> {
            synchronized (dead) {
                dead.abortAll();
            }
        });
        OpenFiles files = bySource.mineIfAny();
        if (files == null) return Long.MAX_VALUE;
        synchronized (files) {
            return files.commitDue(all);
        }
    }

    /** Commits lingering files whose time is up even when no source batch ends (a quiet database). */
    void commitLingering() {
        if (lingerMs == 0) return;
        bySource.forEach(files -> {
            synchronized (files) {
                try {
                    if (files.failure == null) files.commitDue(false);
                } catch (Exception e) {
                    // the files are discarded: the source's next batch end throws, and its unmarked events come again
                    files.failure = e;
                }
            }
        });
    }

    /** The files one source thread has open, least recently written first. */
    private final class OpenFiles {
        final LinkedHashMap<String, LakeFile> open = new LinkedHashMap<>(16, 0.75f, true);
        Exception failure;

        /** Commits every file, or only those not lingering or lingering long enough; the oldest sequence still held. */
        long commitDue(boolean all) throws IOException {
            Exception failed = failure;
            failure = null;
            long held = Long.MAX_VALUE;
            if (failed == null) {
                try {
                    long now = System.currentTimeMillis();
                    for (String key : new ArrayList<>(open.keySet())) {
                        LakeFile file = open.get(key);
                        if (all || !file.lingers || now - file.openedAt >= lingerMs) commit(key);
                        else held = Math.min(held, file.firstSequence);
                    }
                    return held;
                } catch (Exception e) {
                    failed = e;
                }
            }
            abortAll();
            throw new IOException("data lake " + storage.describe() + " could not commit its files: " + failed.getMessage(), failed);
        }

        LakeFile create(String key, String folder, LakeRow row, boolean fresh) throws IOException, SQLException {
            String name = "part-" + START.format(java.time.Instant.now()) + "-" + UUID.randomUUID()
                    + (parquet ? ".parquet" : LakeFile.JsonLines.extension(compression));
            LakeStorage.Staged out = storage.create(folder + name);
            LakeFile file;
            try {
                file = parquet ? new LakeFile.Parquet(out, shape(row, fresh), codec, maxFileBytes) : new LakeFile.JsonLines(out, compression, meta);
            } catch (IOException | SQLException | RuntimeException e) {
                out.abort();
                throw e;
            }
            open.put(key, file);
            Iterator<Map.Entry<String, LakeFile>> eldest = open.entrySet().iterator();
            while (open.size() > maxOpenFiles) {
                String oldest = eldest.next().getKey();
                commit(oldest); // bounded memory: the least recently written file is committed early
                eldest = open.entrySet().iterator();
            }
            return file;
        }

        /** The Parquet schema for a row's table: the catalogue's columns, re-read when the row carries one it lacks. */
        private ParquetRows shape(LakeRow row, boolean fresh) throws SQLException {
            if (!row.isTableRow()) return new ParquetRows(row.folder(), Map.of("data", PgType.of(PgType.Kind.JSON)), meta);
            TableColumns catalogue = getComponent().catalogue();
            CanonicalEvent e = row.event();
            Map<String, PgType> columns = fresh ? catalogue.refresh(e.schema(), e.table()) : catalogue.of(e.schema(), e.table());
            ParquetRows shape = new ParquetRows(row.folder(), columns, meta);
            if (shape.covers(row)) return shape;
            columns = new LinkedHashMap<>(catalogue.refresh(e.schema(), e.table()));
            // a column dropped again before we read the catalogue: kept, as text
            for (Iterator<String> it = row.columns().fieldNames(); it.hasNext();) columns.putIfAbsent(it.next(), PgType.TEXT);
            return new ParquetRows(row.folder(), columns, meta);
        }

        boolean typesChanged(LakeFile.Parquet file, LakeRow row) throws SQLException {
            CanonicalEvent e = row.event();
            if (!row.isTableRow()) return false;
            Map<String, PgType> fresh = getComponent().catalogue().refresh(e.schema(), e.table());
            return !new ParquetRows(row.folder(), fresh, meta).schema().equals(file.shape.schema());
        }

        /** Completes and commits the file; a file whose only row did not fit is discarded, never committed empty. */
        LakeFile commit(String key) throws IOException {
            LakeFile file = open.remove(key);
            if (file == null) return null;
            if (file.rows == 0) {
                file.out.abort();
                return null;
            }
            try {
                file.finish();
                file.out.commit();
            } catch (IOException | RuntimeException e) {
                file.out.abort();
                throw e;
            }
            return null;
        }

        void fail(Exception e) {
            failure = e;
            abortAll();
        }

        void abortAll() {
            for (LakeFile file : open.values()) file.out.abort();
            open.clear();
        }
    }

    @Override
    public Consumer createConsumer(Processor processor) {
        throw new UnsupportedOperationException("pglake: is a sink");
    }

    @Override
    public DatalakeComponent getComponent() {
        return (DatalakeComponent) super.getComponent();
    }

    public String getTarget() { return target; }
    public void setTarget(String target) { this.target = target; }
    public String getFormat() { return format; }
    public void setFormat(String format) { this.format = format; }
    public String getCompression() { return compression; }
    public void setCompression(String compression) { this.compression = compression; }
    public String getPartitioning() { return partitioning; }
    public void setPartitioning(String partitioning) { this.partitioning = partitioning; }
    public long getMaxFileBytes() { return maxFileBytes; }
    public void setMaxFileBytes(long maxFileBytes) { this.maxFileBytes = maxFileBytes; }
    public long getMaxFileRows() { return maxFileRows; }
    public void setMaxFileRows(long maxFileRows) { this.maxFileRows = maxFileRows; }
    public long getMaxFileAgeMs() { return maxFileAgeMs; }
    public void setMaxFileAgeMs(long maxFileAgeMs) { this.maxFileAgeMs = maxFileAgeMs; }
    public long getLingerMs() { return lingerMs; }
    public void setLingerMs(long lingerMs) { this.lingerMs = lingerMs; }
    public int getMaxOpenFiles() { return maxOpenFiles; }
    public void setMaxOpenFiles(int maxOpenFiles) { this.maxOpenFiles = maxOpenFiles; }
    public String getFields() { return fields; }
    public void setFields(String fields) { this.fields = fields; }
    public String getS3Endpoint() { return s3Endpoint; }
    public void setS3Endpoint(String s3Endpoint) { this.s3Endpoint = s3Endpoint; }
    public String getS3Region() { return s3Region; }
    public void setS3Region(String s3Region) { this.s3Region = s3Region; }
    public String getS3AccessKey() { return s3AccessKey; }
    public void setS3AccessKey(String s3AccessKey) { this.s3AccessKey = s3AccessKey; }
    public String getS3SecretKey() { return s3SecretKey; }
    public void setS3SecretKey(String s3SecretKey) { this.s3SecretKey = s3SecretKey; }
    public boolean isS3PathStyle() { return s3PathStyle; }
    public void setS3PathStyle(boolean s3PathStyle) { this.s3PathStyle = s3PathStyle; }
    public int getS3PartBytes() { return s3PartBytes; }
    public void setS3PartBytes(int s3PartBytes) { this.s3PartBytes = s3PartBytes; }
}
