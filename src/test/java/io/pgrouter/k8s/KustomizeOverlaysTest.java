package io.pgrouter.k8s;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;

/**
 * Every overlay under k8s/overlays renders with kubectl's kustomize, and what it renders fits the router: the probes
 * are the router's health endpoints, the routes ConfigMap is mounted where PGROUTER_ROUTES_DIR points, every route in
 * it is YAML, the Role grants exactly what leader election uses, leader election is on, secrets come by reference.
 * Skipped (with the reason) where kubectl is not installed.
 */
class KustomizeOverlaysTest {

    static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    static List<JsonNode> render(String overlay) throws IOException, InterruptedException {
        Process p;
        try {
            p = new ProcessBuilder("kubectl", "kustomize", "k8s/overlays/" + overlay).redirectErrorStream(true).start();
        } catch (IOException e) {
            Assumptions.abort("kubectl is not installed: the overlays are not rendered here (" + e.getMessage() + ")");
            return null;
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        List<JsonNode> docs = new ArrayList<>();
        try (var parser = YAML.getFactory().createParser(out)) {
            YAML.readValues(parser, JsonNode.class).forEachRemaining(docs::add);
        }
        return docs;
    }

    static JsonNode only(List<JsonNode> docs, String kind) {
        List<JsonNode> found = docs.stream().filter(d -> kind.equals(d.path("kind").asText())).toList();
        assertThat(found).as(kind).hasSize(1);
        return found.get(0);
    }

    static String env(JsonNode container, String name) {
        for (JsonNode e : container.path("env")) {
            if (name.equals(e.path("name").asText())) return e.has("value") ? e.path("value").asText() : "secret:" + e.at("/valueFrom/secretKeyRef/name").asText();
        }
        return null;
    }

    @ParameterizedTest
    @ValueSource(strings = { "dev", "prod" })
    void rendersADeploymentTheRouterCanRunIn(String overlay) throws Exception {
        List<JsonNode> docs = render(overlay);
        JsonNode deployment = only(docs, "Deployment");
        JsonNode pod = deployment.at("/spec/template/spec");
        JsonNode router = pod.path("containers").get(0);
        assertThat(router.at("/startupProbe/httpGet/path").asText()).isEqualTo("/q/health/started");
        assertThat(router.at("/livenessProbe/httpGet/path").asText()).isEqualTo("/q/health/live");
        assertThat(router.at("/readinessProbe/httpGet/path").asText()).isEqualTo("/q/health/ready");
        assertThat(env(router, "PGROUTER_HA_ENABLED")).isEqualTo("true");
        // JAVA_OPTS replaces the image's: it must keep the image's log manager option (src/main/docker/Dockerfile.jvm)
        assertThat(env(router, "JAVA_OPTS")).contains("-Djava.util.logging.manager=org.jboss.logmanager.LogManager");
        assertThat(env(router, "PGROUTER_POSTGRES_PASSWORD")).isEqualTo("secret:pgrouter-postgres");
        assertThat(router.at("/securityContext/readOnlyRootFilesystem").asBoolean()).isTrue();
        assertThat(pod.at("/securityContext/runAsNonRoot").asBoolean()).isTrue();

        // the routes ConfigMap is mounted where the router reads routes, and holds YAML routes
        String routesDir = env(router, "PGROUTER_ROUTES_DIR");
        String routesVolume = null;
        for (JsonNode m : router.path("volumeMounts")) if (m.path("mountPath").asText().equals(routesDir)) routesVolume = m.path("name").asText();
        assertThat(routesVolume).as("a volume mounted at " + routesDir).isNotNull();
        String routesMap = null;
        for (JsonNode v : pod.path("volumes")) if (v.path("name").asText().equals(routesVolume)) routesMap = v.at("/configMap/name").asText();
        String mapName = routesMap;
        JsonNode routes = docs.stream().filter(d -> "ConfigMap".equals(d.path("kind").asText()) && mapName.equals(d.at("/metadata/name").asText()))
                .findFirst().orElseThrow();
        assertThat(routes.path("data").size()).isPositive();
        routes.path("data").fields().forEachRemaining(f -> {
            assertThat(f.getKey()).endsWith(".yaml");
            try {
                assertThat(YAML.readTree(f.getValue().asText()).isArray()).as(f.getKey()).isTrue();
            } catch (IOException e) {
                throw new AssertionError(f.getKey() + " is not YAML: " + e.getMessage());
            }
        });

        // leader election's Lease and nothing else
        JsonNode role = only(docs, "Role");
        assertThat(role.path("rules")).hasSize(1);
        assertThat(role.at("/rules/0/resources/0").asText()).isEqualTo("leases");
        assertThat(YAML.convertValue(role.at("/rules/0/verbs"), List.class)).containsExactlyInAnyOrder("get", "create", "patch");
        assertThat(only(docs, "RoleBinding").at("/subjects/0/name").asText()).isEqualTo(pod.path("serviceAccountName").asText());
        // no Secret values in the repository
        assertThat(docs.stream().filter(d -> "Secret".equals(d.path("kind").asText()))).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = { "prod" })
    void prodRunsTwoReplicasOneDisruptedAtATimeAndIsScraped(String overlay) throws Exception {
        List<JsonNode> docs = render(overlay);
        assertThat(only(docs, "Deployment").at("/spec/replicas").asInt()).isEqualTo(2);
        assertThat(only(docs, "PodDisruptionBudget").at("/spec/maxUnavailable").asInt()).isEqualTo(1);
        assertThat(only(docs, "ServiceMonitor").at("/spec/endpoints/0/path").asText()).isEqualTo("/q/metrics");
        // the dashboard queries the router's own metric names
        String dashboard = Files.readString(Path.of("k8s/components/monitoring/pg-event-router.json"));
        assertThat(YAML.readTree(dashboard).path("panels").size()).isPositive();
    }
}
