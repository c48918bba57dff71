package io.pgrouter.sink.datalake;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.zip.GZIPInputStream;

import io.pgrouter.delivery.DryRun;

/**
 * The lake's storage in a dry run: a committed file goes to the capture with its partition path and its rows (JSON
 * Lines, uncompressed for reading; Parquet as its size, its rows are not decoded); nothing is written. The file's own
 * name (start time and a random id) is shown as {@code part-*}, so a report is the same on every run.
 */
final class CapturedFiles implements LakeStorage {

    private final String target;

    CapturedFiles(String target) {
        this.target = target;
    }

    @Override
    public Staged create(String key) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        return new Staged() {
            @Override
            public void write(int b) {
                bytes.write(b);
            }

            @Override
            public void write(byte[] b, int off, int len) {
                bytes.write(b, off, len);
            }

            @Override
            long written() {
                return bytes.size();
            }

            @Override
            void commit() throws IOException {
                DryRun.sent(DatalakeEndpoint.SINK, describe(key, bytes.toByteArray()));
            }

            @Override
            void abort() {
                // nothing was written anywhere
            }
        };
    }

    String describe(String key, byte[] content) throws IOException {
        String name = key.substring(key.lastIndexOf('/') + 1);
        String shown = key.substring(0, key.length() - name.length()) + "part-*" + name.substring(name.indexOf('.'));
        StringBuilder text = new StringBuilder("file: ").append(target).append(target.endsWith("/") ? "" : "/").append(shown).append('\n');
        if (name.endsWith(".parquet")) return text.append("(Parquet, ").append(content.length).append(" bytes)\n").toString();
        InputStream in = new ByteArrayInputStream(content);
        if (name.endsWith(".gz")) in = new GZIPInputStream(in);
        if (name.endsWith(".zst")) in = new com.github.luben.zstd.ZstdInputStream(in);
        try (InputStream rows = in) {
            return text.append('\n').append(new String(rows.readAllBytes(), StandardCharsets.UTF_8)).toString();
        }
    }

    @Override
    public String describe() {
        return target + " (dry run: nothing written)";
    }
}
