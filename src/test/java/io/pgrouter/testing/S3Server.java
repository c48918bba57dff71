package io.pgrouter.testing;

import java.util.Map;

import org.gaul.s3proxy.AuthenticationType;
import org.gaul.s3proxy.junit.S3ProxyJunitCore;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/** A real S3 API in the test JVM: s3proxy on a transient (in-memory) store, bucket {@code lake}, AWS v4 signatures. */
public class S3Server implements QuarkusTestResourceLifecycleManager {

    public static final String BUCKET = "lake";
    static final String ACCESS_KEY = "lake-access", SECRET_KEY = "lake-secret-" + java.util.UUID.randomUUID();

    private static S3ProxyJunitCore proxy;

    @Override
    public Map<String, String> start() {
        try {
            proxy = new S3ProxyJunitCore.Builder().withCredentials(AuthenticationType.AWS_V2_OR_V4, ACCESS_KEY, SECRET_KEY)
                    .withBlobStoreProvider("transient-nio2").build();
            proxy.beforeEach();
            try (S3Client s3 = client()) {
                s3.createBucket(b -> b.bucket(BUCKET));
            }
            return Map.of("pgrouter.test.s3-endpoint", proxy.getUri().toString(), "pgrouter.test.s3-access-key", ACCESS_KEY,
                    "pgrouter.test.s3-secret-key", SECRET_KEY);
        } catch (Exception e) {
            throw new IllegalStateException("s3proxy did not start", e);
        }
    }

    /** A client as a user of the lake would have one. */
    public static S3Client client() {
        return S3Client.builder().endpointOverride(proxy.getUri()).forcePathStyle(true).region(Region.US_EAST_1)
                .httpClient(UrlConnectionHttpClient.create())
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(ACCESS_KEY, SECRET_KEY))).build();
    }

    @Override
    public void stop() {
        if (proxy != null) proxy.afterEach();
    }
}
