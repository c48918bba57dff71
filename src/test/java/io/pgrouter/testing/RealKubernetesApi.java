package io.pgrouter.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;

/**
 * A real kube-apiserver with etcd on 127.0.0.1, run by {@code k8s/test/apiserver.sh} (started here unless it already
 * runs; stopped at the end only if started here). RBAC is on: routers use the token of the ServiceAccount of
 * k8s/base, allowed only by the Role and RoleBinding of k8s/base, applied here with kubectl as a user would.
 * Gone means the kube-apiserver process is frozen (SIGSTOP): connections are accepted and never answered.
 */
public final class RealKubernetesApi implements KubernetesApi {

    static final Path SCRIPT = Path.of("k8s", "test", "apiserver.sh");
    private static final String[] LEASE_ROLE_FILES = { "k8s/base/serviceaccount.yaml", "k8s/base/role.yaml", "k8s/base/rolebinding.yaml" };

    private final Path state;
    private final boolean startedHere;
    private final String namespace, url, routerToken;
    private final Path ca;
    private final KubernetesClient client;

    public RealKubernetesApi() throws Exception {
        state = Path.of(env("PGROUTER_K8S_STATE", Path.of(env("TMPDIR", "/tmp"), "pgrouter-k8s-apiserver").toString()));
        Path binary = Path.of(env("PGROUTER_K8S_CACHE", Path.of(System.getProperty("user.home"), ".cache", "pgrouter-k8s").toString()), "bin", "kube-apiserver");
        boolean running = Files.exists(state.resolve("kube-apiserver.pid")) && ProcessHandle.of(pid()).map(ProcessHandle::isAlive).orElse(false);
        if (!running && !Files.isExecutable(binary)) {
            throw new IllegalStateException(binary + " is missing: build it once with " + SCRIPT + " build (15-30 CPU-minutes)");
        }
        startedHere = !running;
        if (startedHere) script("start");
        namespace = read("namespace");
        url = read("url");
        routerToken = read("router.token");
        ca = state.resolve("pki/ca.crt");
        client = new KubernetesClientBuilder().withConfig(new ConfigBuilder().withMasterUrl(url).withCaCertFile(ca.toString())
                .withOauthToken(read("admin.token")).withNamespace(namespace).build()).build();
        List<String> apply = new ArrayList<>(List.of("apply", "-n", namespace));
        for (String f : LEASE_ROLE_FILES) apply.addAll(List.of("-f", f));
        kubectl(apply.toArray(String[]::new));
        // a Lease left by an earlier run would make the first election wait for it to expire
        client.resources(Lease.class).inNamespace(namespace).delete();
    }

    private static String env(String name, String otherwise) {
        String v = System.getenv(name);
        return v == null || v.isBlank() ? otherwise : v;
    }

    private String read(String file) throws IOException {
        return Files.readString(state.resolve(file)).strip();
    }

    private long pid() {
        try {
            return Long.parseLong(read("kube-apiserver.pid"));
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
    }

    private void script(String command) throws Exception {
        run(List.of(SCRIPT.toString(), command), 300);
    }

    /** kubectl as the administrator of the test server; returns its output, failing on a non-zero exit. */
    public String kubectl(String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of("kubectl", "--kubeconfig", state.resolve("kubeconfig").toString()));
        command.addAll(List.of(args));
        return run(command, 120);
    }

    private String run(List<String> command, int seconds) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().put("PGROUTER_K8S_STATE", state.toString());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(seconds, TimeUnit.SECONDS)).as(String.join(" ", command)).isTrue();
        assertThat(p.exitValue()).as(String.join(" ", command) + "\n" + out).isZero();
        return out;
    }

    @Override
    public String namespace() {
        return namespace;
    }

    @Override
    public Map<String, String> routerConfig() {
        return Map.of("quarkus.kubernetes-client.api-server-url", url,
                "quarkus.kubernetes-client.ca-cert-file", ca.toString(),
                "quarkus.kubernetes-client.namespace", namespace,
                "quarkus.kubernetes-client.token", routerToken);
    }

    /** A client with the router's identity (its ServiceAccount's token). */
    public KubernetesClient routerClient() {
        return new KubernetesClientBuilder().withConfig(new ConfigBuilder().withMasterUrl(url).withCaCertFile(ca.toString())
                .withOauthToken(routerToken).withNamespace(namespace).build()).build();
    }

    @Override
    public KubernetesClient client() {
        return client;
    }

    @Override
    public void goAway() throws Exception {
        run(List.of("kill", "-STOP", String.valueOf(pid())), 10);
    }

    @Override
    public void comeBack() throws Exception {
        run(List.of("kill", "-CONT", String.valueOf(pid())), 10);
    }

    @Override
    public void close() {
        client.close();
        try {
            // a test that failed during an outage leaves no frozen server behind
            if (ProcessHandle.of(pid()).map(ProcessHandle::isAlive).orElse(false)) comeBack();
            if (startedHere) script("stop");
        } catch (Exception e) {
            throw new IllegalStateException("could not continue or stop the API server", e);
        }
    }
}
