package io.pgrouter.sink.datalake;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;

import org.apache.parquet.bytes.BytesInput;
import org.apache.parquet.compression.CompressionCodecFactory;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.xerial.snappy.Snappy;

import com.github.luben.zstd.Zstd;

/**
 * Parquet page compression on snappy-java, zstd-jni and java.util.zip: parquet-hadoop's own codec factory loads
 * Hadoop's codec classes, which the router does not ship.
 */
final class ParquetCodecs implements CompressionCodecFactory {

    static final ParquetCodecs INSTANCE = new ParquetCodecs();
    private static final int ZSTD_LEVEL = 3;

    @Override
    public BytesInputCompressor getCompressor(CompressionCodecName codec) {
        return new BytesInputCompressor() {
            @Override
            public BytesInput compress(BytesInput bytes) throws IOException {
                byte[] in = bytes.toByteArray();
                return BytesInput.from(switch (codec) {
                    case UNCOMPRESSED -> in;
                    case SNAPPY -> Snappy.compress(in);
                    case ZSTD -> Zstd.compress(in, ZSTD_LEVEL);
                    case GZIP -> gzip(in);
                    default -> throw new IOException("unsupported Parquet codec " + codec);
                });
            }

            @Override
            public CompressionCodecName getCodecName() {
                return codec;
            }

            @Override
            public void release() {
            }
        };
    }

    @Override
    public BytesInputDecompressor getDecompressor(CompressionCodecName codec) {
        return new BytesInputDecompressor() {
            @Override
            public BytesInput decompress(BytesInput bytes, int size) throws IOException {
                byte[] in = bytes.toByteArray();
                return BytesInput.from(switch (codec) {
                    case UNCOMPRESSED -> in;
                    case SNAPPY -> Snappy.uncompress(in);
                    case ZSTD -> Zstd.decompress(in, size);
                    case GZIP -> gunzip(in);
                    default -> throw new IOException("unsupported Parquet codec " + codec);
                });
            }

            @Override
            public void decompress(ByteBuffer input, int compressedSize, ByteBuffer output, int size) throws IOException {
                byte[] in = new byte[compressedSize];
                input.get(in);
                output.put(decompress(BytesInput.from(in), size).toByteArray());
            }

            @Override
            public void release() {
            }
        };
    }

    @Override
    public void release() {
    }

    private static byte[] gzip(byte[] in) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream(in.length / 2 + 64);
        try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
            gz.write(in);
        }
        return out.toByteArray();
    }

    private static byte[] gunzip(byte[] in) throws IOException {
        try (InputStream gz = new GZIPInputStream(new java.io.ByteArrayInputStream(in))) {
            return gz.readAllBytes();
        }
    }
}
