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

import org.jboss.logging.Logger;

import io.pgrouter.delivery.RoutedEvent;
import io.pgrouter.delivery.Sink;
import io.pgrouter.delivery.SinkContext;
import io.pgrouter.delivery.SinkDeliveryException;
import io.pgrouter.delivery.SourceBuffers;
import io.pgrouter.event.CanonicalEvent;
import io.pgrouter.postgres.Postgres;

/**
 * The data lake sink: one lake (target + format + layout). Files are kept per source ({@link SourceBuffers}): a
 * source's batch end ({@link #flush}) commits exactly the files holding its batch, so the NOTIFY source finishing a
 * notification never commits, or discards, a half-routed WAL batch. Camel's file and aws2-s3 components write one
 * object per exchange and know no batch end; the lake's contract (partitioned, rolled files visible only when
 * complete, committed before the source's position moves past their events, Parquet typed from the catalogue) needs it.
 */
public class DatalakeSink implements Sink {

    private static final Logger LOG = Logger.getLogger(DatalakeSink.class);
    private static final String SINK = DatalakeConfig.SINK;
    private static final DateTimeFormatter START = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmssSSS'Z'").withZone(ZoneOffset.UTC);

    private final DatalakeConfig config;
    private final Postgres postgres;
    private TableColumns catalogue;
    private LakeStorage storage;
    private final SourceBuffers<OpenFiles> bySource = new SourceBuffers<>(OpenFiles::new);

    public DatalakeSink(DatalakeConfig config, SinkContext context) throws IOException {
        this.config = config;
        this.postgres = context.bean(Postgres.class);
        String target = config.getTarget();
        if (io.pgrouter.delivery.DryRun.on()) {
            // bin/pgrouter routes test: each committed file goes to the capture, nothing is written
            storage = new CapturedFiles(target);
        } else if (target.startsWith("s3://")) {
            storage = new S3Storage(target, config.getS3Endpoint(), config.getS3Region(), config.getS3AccessKey(), config.getS3SecretKey(), config.isS3PathStyle(),
                    config.getS3PartBytes());
        } else {
            LocalStorage local = new LocalStorage(Path.of(target.startsWith("file:") ? target.substring(5) : target));
            local.removeLeftovers();
            storage = local;
        }
        LOG.infof("data lake %s: %s, compression %s, partitioned by %s", storage.describe(), config.getFormat(), config.getCompression(), config.getPartitioning());
    }

    @Override
    public void close() {
        bySource.forEach(OpenFiles::abortAll);
        bySource.clear();
        storage.close();
        synchronized (this) {
            if (catalogue != null) catalogue.close();
            catalogue = null;
        }
    }

    private synchronized TableColumns catalogue() {
        if (catalogue == null) catalogue = new TableColumns(postgres);
        return catalogue;
    }

    @Override
    public void accept(RoutedEvent event) throws Exception {
        try {
            append(event.event(), event.sequence());
        } catch (IllegalArgumentException misfit) {
            // dead-lettered by the dispatcher, under the Kamelet's name
            throw new SinkDeliveryException(SINK, misfit.getMessage(), null, null, 1, misfit);
        }
    }

    /** The lake has no retry store: nothing waits for it there. */
    @Override
    public void redeliver(String eventJson) throws SinkDeliveryException {
        throw new SinkDeliveryException(SINK, "the data lake keeps no retry store", null, null, 1, null);
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
        String folder = config.layout().folder(row.folder(), time.endsWith("Z") ? time : java.time.Instant.parse(time).toString());
        String key = folder + '\u0000' + row.folder();
        try {
            if (row.mayLackColumns()) row = row.unsentOf(catalogue().of(event.schema(), event.table()).keySet());
            LakeFile file = files.open.get(key);
            if (file instanceof LakeFile.Parquet p && !p.shape.covers(row)) {
                file = files.commit(key); // a column the file's schema lacks: a new file with the wider schema
            }
            if (file == null) file = files.create(key, folder, row, false);
            // only WAL events (with a position the source holds back for us) may wait in a file across source batches
            if (file.rows == 0) file.lingers = config.getLingerMs() > 0 && event.lsn() != null && sequence > 0;
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
            if (file.rows >= config.getMaxFileRows() || file.bytes() >= config.getMaxFileBytes() || System.currentTimeMillis() - file.openedAt >= config.getMaxFileAgeMs()) {
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
     * @return the {@link io.pgrouter.delivery.BatchBoundary#SEQUENCE} of the oldest event still held in an open file, or Long.MAX_VALUE
     */
    @Override
    public long flush(boolean all) throws Exception {
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
    @Override
    public void sendLingering() {
        if (config.getLingerMs() == 0) return;
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
                        if (all || !file.lingers || now - file.openedAt >= config.getLingerMs()) commit(key);
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
                    + (config.parquet() ? ".parquet" : LakeFile.JsonLines.extension(config.getCompression()));
            LakeStorage.Staged out = storage.create(folder + name);
            LakeFile file;
            try {
                file = config.parquet() ? new LakeFile.Parquet(out, shape(row, fresh), config.codec(), config.getMaxFileBytes())
                        : new LakeFile.JsonLines(out, config.getCompression(), config.meta());
            } catch (IOException | SQLException | RuntimeException e) {
                out.abort();
                throw e;
            }
            open.put(key, file);
            Iterator<Map.Entry<String, LakeFile>> eldest = open.entrySet().iterator();
            while (open.size() > config.getMaxOpenFiles()) {
                String oldest = eldest.next().getKey();
                commit(oldest); // bounded memory: the least recently written file is committed early
                eldest = open.entrySet().iterator();
            }
            return file;
        }

        /** The Parquet schema for a row's table: the catalogue's columns, re-read when the row carries one it lacks. */
        private ParquetRows shape(LakeRow row, boolean fresh) throws SQLException {
            if (!row.isTableRow()) return new ParquetRows(row.folder(), Map.of("data", PgType.of(PgType.Kind.JSON)), config.meta());
            TableColumns catalogue = catalogue();
            CanonicalEvent e = row.event();
            Map<String, PgType> columns = fresh ? catalogue.refresh(e.schema(), e.table()) : catalogue.of(e.schema(), e.table());
            ParquetRows shape = new ParquetRows(row.folder(), columns, config.meta());
            if (shape.covers(row)) return shape;
            columns = new LinkedHashMap<>(catalogue.refresh(e.schema(), e.table()));
            // a column dropped again before we read the catalogue: kept, as text
            for (Iterator<String> it = row.columns().fieldNames(); it.hasNext();) columns.putIfAbsent(it.next(), PgType.TEXT);
            return new ParquetRows(row.folder(), columns, config.meta());
        }

        boolean typesChanged(LakeFile.Parquet file, LakeRow row) throws SQLException {
            CanonicalEvent e = row.event();
            if (!row.isTableRow()) return false;
            Map<String, PgType> fresh = catalogue().refresh(e.schema(), e.table());
            return !new ParquetRows(row.folder(), fresh, config.meta()).schema().equals(file.shape.schema());
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
}
