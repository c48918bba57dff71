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
 * it is YAML, the Role grants exactly what leader election uses, leader election is on, secrets come by reference; the
 * tier2 overlay adds a second Deployment that reads Kafka in one consumer group without the Lease.
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

    static JsonNode named(List<JsonNode> docs, String kind, String name) {
        return docs.stream().filter(d -> kind.equals(d.path("kind").asText()) && name.equals(d.at("/metadata/name").asText())).findFirst()
                .orElseThrow(() -> new AssertionError("no " + kind + " " + name));
    }

    /** The routes of a Deployment: every route in the ConfigMap mounted at its routes folder. */
    static List<JsonNode> routesOf(List<JsonNode> docs, JsonNode deployment) throws IOException {
        JsonNode pod = deployment.at("/spec/template/spec");
        String map = null;
        for (JsonNode v : pod.path("volumes")) if (v.path("name").asText().equals("routes")) map = v.at("/configMap/name").asText();
        List<JsonNode> routes = new ArrayList<>();
        for (JsonNode file : named(docs, "ConfigMap", map).path("data")) YAML.readTree(file.asText()).forEach(r -> routes.add(r.path("route")));
        return routes;
    }

    static boolean selects(JsonNode matchLabels, JsonNode labels) {
        boolean[] all = {true};
        matchLabels.fields().forEachRemaining(l -> all[0] &= l.getValue().asText().equals(labels.path(l.getKey()).asText()));
        return all[0];
    }

    @org.junit.jupiter.api.Test
    void tier2AddsASecondDeploymentInOneConsumerGroupWithoutTheLease() throws Exception {
        List<JsonNode> docs = render("tier2");
        JsonNode first = named(docs, "Deployment", "pg-event-router"), second = named(docs, "Deployment", "pg-event-router-tier2");
        JsonNode firstRouter = first.at("/spec/template/spec/containers/0"), secondRouter = second.at("/spec/template/spec/containers/0");
        assertThat(env(firstRouter, "PGROUTER_HA_ENABLED")).isEqualTo("true");
        assertThat(env(secondRouter, "PGROUTER_HA_ENABLED")).isEqualTo("false");
        assertThat(second.at("/spec/replicas").asInt()).isEqualTo(3);
        // the first tier writes to Kafka, the second reads it in one group
        assertThat(routesOf(docs, first)).allSatisfy(r -> assertThat(r.toString()).contains("kamelet:kafka-sink"));
        List<JsonNode> secondRoutes = routesOf(docs, second);
        assertThat(secondRoutes).isNotEmpty().allSatisfy(r -> {
            assertThat(r.at("/from/uri").asText()).isEqualTo("pg:kafka");
            assertThat(r.at("/from/parameters/group").asText()).isEqualTo("pgrouter-tier2");
        });
        // the Lease's Role is bound to the first tier's service account only
        assertThat(only(docs, "Role").at("/rules/0/resources/0").asText()).isEqualTo("leases");
        assertThat(only(docs, "RoleBinding").at("/subjects/0/name").asText()).isEqualTo(first.at("/spec/template/spec/serviceAccountName").asText());
        assertThat(second.at("/spec/template/spec/serviceAccountName").asText()).isNotEqualTo(first.at("/spec/template/spec/serviceAccountName").asText());
        // neither Deployment, Service nor PodDisruptionBudget takes the other tier's pods
        JsonNode firstPods = first.at("/spec/template/metadata/labels"), secondPods = second.at("/spec/template/metadata/labels");
        assertThat(selects(first.at("/spec/selector/matchLabels"), secondPods)).isFalse();
        assertThat(selects(second.at("/spec/selector/matchLabels"), firstPods)).isFalse();
        assertThat(selects(named(docs, "Service", "pg-event-router").at("/spec/selector"), secondPods)).isFalse();
        assertThat(selects(named(docs, "PodDisruptionBudget", "pg-event-router").at("/spec/selector/matchLabels"), secondPods)).isFalse();
        assertThat(selects(named(docs, "PodDisruptionBudget", "pg-event-router-tier2").at("/spec/selector/matchLabels"), secondPods)).isTrue();
        assertThat(selects(second.at("/spec/template/spec/topologySpreadConstraints/0/labelSelector/matchLabels"), secondPods)).isTrue();

        // the KEDA example scales that Deployment on the lag of the routes' group and topic
        JsonNode keda = YAML.readTree(Path.of("k8s/overlays/tier2/keda-scaledobject.yaml").toFile());
        assertThat(keda.at("/spec/scaleTargetRef/name").asText()).isEqualTo("pg-event-router-tier2");
        assertThat(keda.at("/spec/triggers/0/type").asText()).isEqualTo("kafka");
        assertThat(keda.at("/spec/triggers/0/metadata/consumerGroup").asText()).isEqualTo(secondRoutes.get(0).at("/from/parameters/group").asText());
        assertThat(keda.at("/spec/triggers/0/metadata/topic").asText()).isEqualTo(secondRoutes.get(0).at("/from/parameters/topics").asText());
    }
}
