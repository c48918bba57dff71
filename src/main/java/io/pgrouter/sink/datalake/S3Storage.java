package io.pgrouter.sink.datalake;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;

import org.jboss.logging.Logger;

import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.CompletedPart;

/**
 * A lake in an S3 bucket (AWS or any S3 API). A file is uploaded in parts as it grows and becomes visible only
 * when the multipart upload is completed; a file smaller than one part is a single PUT at commit. An interrupted
 * upload is never visible (abort it, or let a bucket lifecycle rule expire incomplete uploads).
 */
final class S3Storage implements LakeStorage {

    private static final Logger LOG = Logger.getLogger(S3Storage.class);
    /** S3's smallest part (except the last). */
    static final int MIN_PART_BYTES = 5 << 20;

    private final S3Client client;
    private final String bucket;
    private final String prefix;
    private final int partBytes;

    S3Storage(String target, String endpoint, String region, String accessKey, String secretKey, boolean pathStyle, int partBytes) {
        URI uri = URI.create(target);
        this.bucket = uri.getHost();
        if (bucket == null || bucket.isBlank()) throw new IllegalArgumentException("datalake-sink target must be s3://bucket/prefix, got " + target);
        String path = uri.getPath() == null ? "" : uri.getPath().replaceAll("^/+|/+$", "");
        this.prefix = path.isEmpty() ? "" : path + "/";
        this.partBytes = Math.max(MIN_PART_BYTES, partBytes);
        var builder = S3Client.builder().httpClient(UrlConnectionHttpClient.create()).forcePathStyle(pathStyle)
                .region(Region.of(region == null || region.isBlank() ? "us-east-1" : region));
        if (endpoint != null && !endpoint.isBlank()) builder.endpointOverride(URI.create(endpoint));
        builder.credentialsProvider(accessKey == null || accessKey.isBlank() ? DefaultCredentialsProvider.builder().build()
                : StaticCredentialsProvider.create(AwsBasicCredentials.create(accessKey, secretKey)));
        this.client = builder.build();
    }

    @Override
    public Staged create(String key) {
        return new Upload(prefix + key);
    }

    @Override
    public String describe() {
        return "s3://" + bucket + "/" + prefix;
    }

    @Override
    public void close() {
        client.close();
    }

    private final class Upload extends Staged {
        private final String key;
        private final ByteArrayOutputStream buffer = new ByteArrayOutputStream(1 << 16);
        private final List<CompletedPart> parts = new ArrayList<>();
        private String uploadId;
        private long written;

        Upload(String key) {
            this.key = key;
        }

        @Override
        public void write(int b) throws IOException {
            buffer.write(b);
            written++;
            if (buffer.size() >= partBytes) uploadPart();
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            buffer.write(b, off, len);
            written += len;
            if (buffer.size() >= partBytes) uploadPart();
        }

        @Override
        long written() {
            return written;
        }

        private void uploadPart() throws IOException {
            try {
                if (uploadId == null) uploadId = client.createMultipartUpload(r -> r.bucket(bucket).key(key)).uploadId();
                int number = parts.size() + 1;
                String etag = client.uploadPart(r -> r.bucket(bucket).key(key).uploadId(uploadId).partNumber(number),
                        RequestBody.fromBytes(buffer.toByteArray())).eTag();
                parts.add(CompletedPart.builder().partNumber(number).eTag(etag).build());
                buffer.reset();
            } catch (SdkException e) {
                throw new IOException("upload of a part of " + describe() + key + " failed: " + e.getMessage(), e);
            }
        }

        @Override
        void commit() throws IOException {
            try {
                if (uploadId == null) {
                    client.putObject(r -> r.bucket(bucket).key(key), RequestBody.fromBytes(buffer.toByteArray()));
                } else {
                    if (buffer.size() > 0) uploadPart();
                    client.completeMultipartUpload(r -> r.bucket(bucket).key(key).uploadId(uploadId).multipartUpload(m -> m.parts(parts)));
                }
                buffer.reset();
            } catch (SdkException e) {
                throw new IOException("commit of " + describe() + key + " failed: " + e.getMessage(), e);
            }
        }

        @Override
        void abort() {
            buffer.reset();
            if (uploadId == null) return;
            try {
                client.abortMultipartUpload(r -> r.bucket(bucket).key(key).uploadId(uploadId));
            } catch (SdkException e) {
                LOG.warnf("could not abort the upload of %s%s (a lifecycle rule for incomplete uploads removes it): %s", describe(), key,
                        e.getMessage());
            }
        }
    }
}
