package io.pgrouter.testing;

import java.util.Map;

import io.fabric8.kubernetes.client.KubernetesClient;

/**
 * The Kubernetes API server routers elect their leader through: how a router reaches it (its
 * {@code quarkus.kubernetes-client.*} configuration), a client of the test's own to read the Lease, and a way to
 * take the server away and bring it back.
 */
public interface KubernetesApi extends AutoCloseable {

    /** The namespace the routers' Lease lives in. */
    String namespace();

    /** Configuration for a router process: server URL, trust, namespace and the router's token. */
    Map<String, String> routerConfig();

    /** A client of the test's own (not the router's identity). */
    KubernetesClient client();

    /** The API server stops answering. */
    void goAway() throws Exception;

    /** The API server answers again. */
    void comeBack() throws Exception;

    @Override
    void close();
}
