package io.pgrouter.sink.datalake;

import java.io.IOException;
import java.io.OutputStream;

/** Where lake files go: a directory or an S3 bucket. A file is visible to readers only once committed. */
interface LakeStorage extends AutoCloseable {

    /** Starts the file at {@code key} (relative to the root, '/'-separated); nothing is visible under that key yet. */
    Staged create(String key) throws IOException;

    /** What the lake is, for messages: never contains a credential. */
    String describe();

    @Override
    default void close() {
    }

    /** A file being written. {@link #commit()} makes it visible whole; {@link #abort()} leaves nothing visible. */
    abstract class Staged extends OutputStream {

        /** Bytes written so far (before the storage's own buffering). */
        abstract long written();

        abstract void commit() throws IOException;

        /** Discards the file; never throws (the caller is already handling a failure or discarding on purpose). */
        abstract void abort();

        /** A Parquet row as handed to the writer; only a dry run's capture keeps it, to show the file's rows. */
        void parquetRow(org.apache.avro.generic.GenericRecord row) {
            // a real storage has the row in the file
        }
    }
}
