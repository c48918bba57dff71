package io.pgrouter.sink.datalake;

import java.util.List;
import java.util.Locale;

import org.apache.camel.CamelContext;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;

import io.pgrouter.delivery.SinkConfig;

/**
 * The data lake sink's options ({@code kamelets/datalake-sink.kamelet.yaml}): the {@code target} (a directory or
 * {@code s3://bucket/prefix}) and its S3 settings, the {@code format} (jsonl or parquet) and {@code compression}, the
 * {@code partitioning}, when a file rolls ({@code maxFileBytes}, {@code maxFileRows}, {@code maxFileAgeMs}), how long a
 * file may stay open across source batches ({@code lingerMs}), {@code maxOpenFiles} and the metadata {@code fields}.
 * Not on the retry contract: a failed commit fails the source's batch, which is delivered again.
 */
public class DatalakeConfig extends SinkConfig {

    /** The sink's name in dead letters: its Kamelet's. */
    static final String SINK = "datalake-sink";

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

    private Partitioning layout;
    private List<MetaField> meta;
    private boolean parquet;
    private CompressionCodecName codec;

    @Override
    public String sink() {
        return SINK;
    }

    @Override
    public boolean retrying() {
        return false;
    }

    @Override
    protected void validate(CamelContext camel) {
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
    protected String identity() {
        return endpointUri();
    }

    /** The lake as shown in logs, without the S3 keys. */
    @Override
    public String where() {
        return "lake " + target;
    }

    Partitioning layout() { return layout; }
    List<MetaField> meta() { return meta; }
    boolean parquet() { return parquet; }
    CompressionCodecName codec() { return codec; }

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
