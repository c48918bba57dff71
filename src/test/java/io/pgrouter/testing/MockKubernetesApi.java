package io.pgrouter.testing;

import java.net.InetAddress;
import java.util.HashMap;
import java.util.Map;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;

/**
 * fabric8's Kubernetes mock server in CRUD mode: Leases are stored and an update with a stale resourceVersion is
 * refused with 409, as the real API server does, which is what makes a Lease a lock. No RBAC, no admission. Gone
 * means stopped; back means a fresh, empty server on the same address.
 */
public final class MockKubernetesApi implements KubernetesApi {

    private KubernetesMockServer server;
    private final KubernetesClient client;
    private final String host;
    private final int port;

    public MockKubernetesApi() {
        server = newServer();
        server.init();
        client = server.createClient();
        host = server.getHostName();
        port = server.getPort();
    }

    private static KubernetesMockServer newServer() {
        return new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(), new KubernetesCrudDispatcher(), true);
    }

    @Override
    public String namespace() {
        return "test";
    }

    @Override
    public Map<String, String> routerConfig() {
        return Map.of("quarkus.kubernetes-client.api-server-url", "https://" + host + ":" + port,
                "quarkus.kubernetes-client.trust-certs", "true",
                "quarkus.kubernetes-client.namespace", namespace(),
                "quarkus.kubernetes-client.token", "test-token");
    }

    @Override
    public KubernetesClient client() {
        return client;
    }

    @Override
    public void goAway() {
        server.destroy();
    }

    @Override
    public void comeBack() throws Exception {
        server = newServer();
        server.init(InetAddress.getByName(host), port);
    }

    @Override
    public void close() {
        client.close();
        server.destroy();
    }
}
