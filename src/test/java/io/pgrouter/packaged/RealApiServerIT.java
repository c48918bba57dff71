package io.pgrouter.packaged;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.HashSet;
import java.util.Set;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.pgrouter.testing.KubernetesApi;
import io.pgrouter.testing.RealKubernetesApi;

/**
 * {@link LeaderElectionIT} against a real kube-apiserver (1.20, with etcd, RBAC on) run by k8s/test/apiserver.sh: the
 * routers elect through it with the token of k8s/base's ServiceAccount, so the election itself proves that the Role
 * of k8s/base grants what it needs. Also what only a real server checks: every overlay passes a server-side dry run
 * (validation, defaulting, admission), and the Role grants nothing beyond the Lease. Opt-in: {@code mvn verify -Pk8s-real}.
 */
class RealApiServerIT extends LeaderElectionIT {

    @Override
    protected KubernetesApi startApi() throws Exception {
        return new RealKubernetesApi();
    }

    @Override
    protected Optional<Duration> handoverLimit() {
        return Optional.of(Duration.ofSeconds(5));
    }

    RealKubernetesApi real() {
        return (RealKubernetesApi) api;
    }

    static Stream<String> overlays() throws IOException {
        try (Stream<Path> dirs = Files.list(Path.of("k8s", "overlays"))) {
            return dirs.filter(Files::isDirectory).map(d -> d.getFileName().toString()).sorted().toList().stream();
        }
    }

    @ParameterizedTest
    @MethodSource("overlays")
    void everyOverlayPassesAServerSideDryRun(String overlay) throws Exception {
        // kinds from operators are not in a bare API server: their definitions first
        real().kubectl("apply", "-f", "src/test/resources/k8s/servicemonitor-crd.yaml");
        real().kubectl("wait", "--for=condition=Established", "--timeout=60s", "crd/servicemonitors.monitoring.coreos.com");
        String rendered = real().kubectl("kustomize", "k8s/overlays/" + overlay);
        var objects = api.client().load(new ByteArrayInputStream(rendered.getBytes(StandardCharsets.UTF_8))).items();
        // a dry run creates nothing, so objects in a namespace the overlay itself creates need it to exist already
        Set<String> namespaces = new HashSet<>();
        for (HasMetadata o : objects) {
            if (o.getMetadata().getNamespace() != null) namespaces.add(o.getMetadata().getNamespace());
        }
        for (String ns : namespaces) {
            if (api.client().namespaces().withName(ns).get() == null) {
                api.client().namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(ns).endMetadata().build()).create();
            }
        }
        // the PodDisruptionBudget is policy/v1 (Kubernetes 1.21+); a 1.20 server has the same fields as policy/v1beta1
        if (!real().kubectl("api-versions").lines().toList().contains("policy/v1")) {
            rendered = rendered.replace("apiVersion: policy/v1\nkind: PodDisruptionBudget", "apiVersion: policy/v1beta1\nkind: PodDisruptionBudget");
        }
        Path file = Files.createTempFile("overlay-" + overlay, ".yaml");
        Files.writeString(file, rendered);
        String out = real().kubectl("apply", "--dry-run=server", "-f", file.toString());
        for (HasMetadata o : objects) {
            assertThat(out).as(out).containsPattern("(?m)^" + o.getKind().toLowerCase() + "[.a-z0-9]*/" + o.getMetadata().getName() + " \\S+ \\(server dry run\\)$");
        }
    }

    @Test
    void theRouterMayUseItsLeaseAndNothingElse() {
        String ns = api.namespace();
        try (KubernetesClient router = real().routerClient()) {
            router.resources(Lease.class).inNamespace(ns).withName(LEASE).get();
            assertForbidden(() -> router.resources(Lease.class).inNamespace(ns).list());
            assertForbidden(() -> router.resources(Lease.class).inNamespace(ns).withName(LEASE).delete());
            assertForbidden(() -> router.resources(Lease.class).inNamespace("default").withName(LEASE).get());
            assertForbidden(() -> router.pods().inNamespace(ns).list());
            assertForbidden(() -> router.configMaps().inNamespace(ns).list());
            assertForbidden(() -> router.secrets().inNamespace(ns).list());
        }
    }

    static void assertForbidden(Runnable call) {
        assertThatThrownBy(call::run).isInstanceOfSatisfying(KubernetesClientException.class, e -> assertThat(e.getCode()).isEqualTo(403));
    }
}
