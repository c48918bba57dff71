package io.pgrouter.sink.datalake;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.Iterator;
import java.util.Map;
import java.util.zip.GZIPOutputStream;

import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.parquet.avro.AvroParquetWriter;
import org.apache.parquet.avro.AvroWriteSupport;
import org.apache.parquet.conf.PlainParquetConfiguration;
import org.apache.parquet.hadoop.ParquetFileWriter;
import org.apache.parquet.hadoop.ParquetWriter;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.apache.parquet.io.OutputFile;
import org.apache.parquet.io.PositionOutputStream;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.github.luben.zstd.ZstdOutputStream;

import io.pgrouter.event.CanonicalEvent;
import io.pgrouter.event.JsonTrees;

/** One lake file being written: rows go in, {@link #finish()} completes the format, then the storage commits it. */
abstract class LakeFile {

    final LakeStorage.Staged out;
    final long openedAt = System.currentTimeMillis();
    long rows;
    /** Whether the file may stay open across source batches, and the dispatcher's sequence of its first event. */
    boolean lingers;
    long firstSequence = Long.MAX_VALUE;

    LakeFile(LakeStorage.Staged out) {
        this.out = out;
    }

    /** Builds the whole row before writing any of it, so a value that does not fit leaves the file as it was. */
    abstract void write(LakeRow row) throws IOException;

    /** Size of the file so far, counting what the format still buffers. */
    abstract long bytes();

    abstract void finish() throws IOException;

    /** Keeps a format's close() from closing the staged file: only commit() or abort() end it. */
    static OutputStream unclosable(OutputStream out) {
        return new FilterOutputStream(out) {
            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                out.write(b, off, len);
            }

            @Override
            public void close() throws IOException {
                flush();
            }
        };
    }

    /** JSON Lines: one object per row, the event's facts first, then the columns; gzip or zstd around it. */
    static final class JsonLines extends LakeFile {
        private final OutputStream stream;
        private final java.util.List<MetaField> meta;
        private final java.io.ByteArrayOutputStream line = new java.io.ByteArrayOutputStream(512);
        private long bytes;

        JsonLines(LakeStorage.Staged out, String compression, java.util.List<MetaField> meta) throws IOException {
            super(out);
            this.meta = meta;
            this.stream = switch (compression) {
                case "gzip" -> new GZIPOutputStream(unclosable(out), 1 << 16);
                case "zstd" -> new ZstdOutputStream(unclosable(out));
                default -> out;
            };
        }

        static String extension(String compression) {
            return switch (compression) {
                case "gzip" -> ".jsonl.gz";
                case "zstd" -> ".jsonl.zst";
                default -> ".jsonl";
            };
        }

        @Override
        void write(LakeRow row) throws IOException {
            // streamed into a reused buffer: an ObjectNode per line and ObjectMapper.writeValueAsBytes were a tenth of the
            // WAL thread's time in a profile. Same fields and order as before: the meta fields, then the row's columns (a
            // column named like a meta field takes its place, as ObjectNode.setAll did).
            CanonicalEvent e = row.event();
            ObjectNode columns = row.columns();
            line.reset();
            try (JsonGenerator g = CanonicalEvent.JSON.getFactory().createGenerator(line, JsonEncoding.UTF8)) {
                g.writeStartObject();
                for (MetaField f : meta) {
                    g.writeFieldName(f.column);
                    JsonNode own = columns.get(f.column);
                    if (own != null) {
                        JsonTrees.write(g, own);
                        continue;
                    }
                    switch (f) {
                        case EVENT_ID -> writeText(g, e.id());
                        case OP -> g.writeString(e.op().wire());
                        case LSN -> writeNumber(g, e.lsn());
                        case COMMIT_TIME -> writeText(g, e.time());
                        case SUBJECT -> writeText(g, e.subject());
                        case TXID -> writeNumber(g, e.txid());
                        case CHANGED -> {
                            JsonNode changed = e.data() == null ? null : e.data().get("changed");
                            if (changed == null) g.writeNull();
                            else JsonTrees.write(g, changed);
                        }
                        case UNCHANGED -> {
                            if (row.unchanged() == null) {
                                g.writeNull();
                            } else {
                                g.writeStartArray();
                                for (String column : row.unchanged()) g.writeString(column);
                                g.writeEndArray();
                            }
                        }
                    }
                }
                for (Iterator<Map.Entry<String, JsonNode>> it = columns.fields(); it.hasNext();) {
                    Map.Entry<String, JsonNode> column = it.next();
                    if (isMeta(column.getKey())) continue;
                    g.writeFieldName(column.getKey());
                    JsonTrees.write(g, column.getValue());
                }
                g.writeEndObject();
            }
            line.write('\n');
            line.writeTo(stream);
            this.bytes += line.size();
            rows++;
        }

        private boolean isMeta(String column) {
            for (MetaField f : meta) if (f.column.equals(column)) return true;
            return false;
        }

        private static void writeText(JsonGenerator g, String value) throws IOException {
            if (value == null) g.writeNull();
            else g.writeString(value);
        }

        private static void writeNumber(JsonGenerator g, Long value) throws IOException {
            if (value == null) g.writeNull();
            else g.writeNumber(value.longValue());
        }

        @Override
        long bytes() {
            return bytes;
        }

        @Override
        void finish() throws IOException {
            if (stream != out) stream.close();
        }
    }

    /** Parquet through parquet-avro, on our OutputFile and codecs: no Hadoop class is loaded. */
    static final class Parquet extends LakeFile {
        private static final int ROW_GROUP_BYTES = 16 << 20;

        final ParquetRows shape;
        private final ParquetWriter<GenericRecord> writer;

        Parquet(LakeStorage.Staged out, ParquetRows shape, CompressionCodecName codec, long maxFileBytes) throws IOException {
            super(out);
            this.shape = shape;
            PlainParquetConfiguration conf = new PlainParquetConfiguration();
            conf.set(AvroWriteSupport.WRITE_OLD_LIST_STRUCTURE, "false"); // 3-level lists: arrays may hold NULLs
            conf.set(AvroWriteSupport.WRITE_PARQUET_UUID, "true");
            this.writer = AvroParquetWriter.<GenericRecord>builder(outputFile(out))
                    .withSchema(shape.schema())
                    .withDataModel(GenericData.get())
                    .withConf(conf)
                    .withCodecFactory(ParquetCodecs.INSTANCE)
                    .withCompressionCodec(codec)
                    .withWriteMode(ParquetFileWriter.Mode.OVERWRITE)
                    .withRowGroupSize((long) Math.min(ROW_GROUP_BYTES, Math.max(1 << 20, maxFileBytes)))
                    // event ids are unique: a dictionary and min/max statistics only cost time there
                    .withDictionaryEncoding(MetaField.EVENT_ID.column, false)
                    .withStatisticsEnabled(MetaField.EVENT_ID.column, false)
                    .build();
        }

        @Override
        void write(LakeRow row) throws IOException {
            GenericRecord record = shape.record(row);
            out.parquetRow(record); // before the writer reads the record's byte buffers
            writer.write(record);
            rows++;
        }

        private long size;

        /** Parquet's size estimate walks every column's buffers: read every 64 rows, which is close enough to roll by. */
        @Override
        long bytes() {
            if ((rows & 63) == 1) size = writer.getDataSize();
            return size;
        }

        @Override
        void finish() throws IOException {
            writer.close();
        }

        private static OutputFile outputFile(LakeStorage.Staged out) {
            PositionOutputStream stream = new PositionOutputStream() {
                @Override
                public long getPos() {
                    return out.written();
                }

                @Override
                public void write(int b) throws IOException {
                    out.write(b);
                }

                @Override
                public void write(byte[] b, int off, int len) throws IOException {
                    out.write(b, off, len);
                }

                @Override
                public void close() {
                    // the storage commits or aborts the file
                }
            };
            return new OutputFile() {
                @Override
                public PositionOutputStream create(long blockSizeHint) {
                    return stream;
                }

                @Override
                public PositionOutputStream createOrOverwrite(long blockSizeHint) {
                    return stream;
                }

                @Override
                public boolean supportsBlockSize() {
                    return false;
                }

                @Override
                public long defaultBlockSize() {
                    return 0;
                }
            };
        }
    }
}
