package io.pgrouter.sink.datalake;

import java.io.BufferedOutputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.stream.Stream;

import org.jboss.logging.Logger;

/**
 * A lake on a local or mounted file system. Each file is written under {@code <root>/_inprogress/} (Hive, Spark and
 * Trino skip folders starting with '_'; no {@code *.parquet} / {@code *.jsonl} glob matches the name), forced to
 * disk, then renamed atomically to its final name; the folder is forced so the rename survives a crash.
 */
final class LocalStorage implements LakeStorage {

    private static final Logger LOG = Logger.getLogger(LocalStorage.class);
    static final String IN_PROGRESS = ".inprogress";
    static final String STAGING = "_inprogress";

    private final Path root;
    private final Path staging;

    LocalStorage(Path root) {
        this.root = root.toAbsolutePath().normalize();
        this.staging = this.root.resolve(STAGING);
    }

    /** Removes what a crashed writer left behind: files never committed, whose events are delivered again anyway. */
    void removeLeftovers() {
        if (!Files.isDirectory(staging)) return;
        try (Stream<Path> files = Files.list(staging)) {
            files.filter(p -> p.getFileName().toString().endsWith(IN_PROGRESS)).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                    LOG.infof("removed %s, left by an interrupted write (its events are delivered again)", p);
                } catch (IOException e) {
                    LOG.warnf("could not remove %s: %s", p, e.getMessage());
                }
            });
        } catch (IOException | UncheckedIOException e) {
            LOG.warnf("could not look for interrupted writes under %s: %s", root, e.getMessage());
        }
    }

    @Override
    public Staged create(String key) throws IOException {
        Path target = root.resolve(key);
        Files.createDirectories(staging);
        return new LocalFile(staging.resolve(java.util.UUID.randomUUID() + IN_PROGRESS), target);
    }

    @Override
    public String describe() {
        return root.toString();
    }

    private static final class LocalFile extends Staged {
        private final Path temp;
        private final Path target;
        private final FileOutputStream file;
        private final BufferedOutputStream out;
        private long written;

        LocalFile(Path temp, Path target) throws IOException {
            this.temp = temp;
            this.target = target;
            this.file = new FileOutputStream(temp.toFile());
            this.out = new BufferedOutputStream(file, 1 << 16);
        }

        @Override
        public void write(int b) throws IOException {
            out.write(b);
            written++;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            written += len;
        }

        @Override
        long written() {
            return written;
        }

        @Override
        void commit() throws IOException {
            out.flush();
            file.getFD().sync();
            file.close();
            Files.createDirectories(target.getParent());
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
            for (Path dir : new Path[] { target.getParent(), temp.getParent() }) {
                try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
                    channel.force(true);
                }
            }
        }

        @Override
        void abort() {
            try {
                file.close();
            } catch (IOException ignored) {
                // deleted below either way
            }
            try {
                Files.deleteIfExists(temp);
            } catch (IOException e) {
                LOG.warnf("could not remove %s: %s", temp, e.getMessage());
            }
        }
    }
}
