package io.pgrouter.delivery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.apache.camel.CamelContext;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.impl.DefaultCamelContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.pgrouter.testing.ContractStores;
import io.pgrouter.testing.Dirs;

/**
 * The one component every sink is made by ({@link SinkComponent}), with a new sink written as docs/delivery.md shows
 * ({@link AuditFileSink}) on a plain Camel context and the real stores: options set on the typed configuration and
 * checked, the endpoint registered with the retry worker, events parked while the destination fails and delivered
 * from the retry store in order, a batch end writing what the source parked.
 */
class SinkComponentTest extends ContractTest {

    private CamelContext camel;
    private ProducerTemplate producer;
    private Path dir;

    @BeforeEach
    void camel() throws Exception {
        dir = Files.createTempDirectory("pgrouter-audit");
        camel = new DefaultCamelContext();
        camel.addComponent("pgauditfile", new SinkComponent<>(new SinkType<>("auditfile", AuditFileConfig::new, AuditFileSink::new),
                new DeliveryContract(stores.retries, worker, stores.deadLetters, stores.destinations, stores.out)));
        camel.start();
        producer = camel.createProducerTemplate();
    }

    @AfterEach
    void stopCamel() throws IOException {
        camel.stop();
        Dirs.deleteTree(dir);
    }

    private void route(String options) throws Exception {
        camel.addRoutes(new RouteBuilder() {
            @Override
            public void configure() {
                from("direct:in").routeId("orders-audit").to("pgauditfile:audit-file-sink?" + options);
            }
        });
    }

    private void send(String id, String subject) {
        producer.sendBodyAndHeaders("direct:in", ContractStores.event(id, subject), Map.of("ceSubject", subject, "ceId", id));
    }

    private List<String> ids(Path file) throws Exception {
        return Files.readAllLines(file).stream().map(l -> l.replaceFirst("^.*?\"id\":\"([^\"]*)\".*$", "$1")).toList();
    }

    @Test
    void optionsAreSetOnTheTypedConfigurationWithItsDefaults() throws Exception {
        Path file = dir.resolve("orders.jsonl");
        route("path=" + file + "&retries=1");
        SinkEndpoint<?> endpoint = camel.getEndpoints().stream().filter(SinkEndpoint.class::isInstance).map(e -> (SinkEndpoint<?>) e).findFirst().orElseThrow();
        AuditFileConfig config = (AuditFileConfig) endpoint.config();

        assertThat(config.getRetries()).isEqualTo(1);
        assertThat(config.isSync()).isTrue();
        assertThat(config.getBackoffMs()).isEqualTo(500);
        assertThat(endpoint.sinkKey()).isEqualTo(Redeliverable.sinkKey("audit-file-sink", file.toString()));

        send("e1", "1");
        send("e2", "2");
        assertThat(ids(file)).containsExactly("e1", "e2");
        assertThat(stores.retries.size()).isZero();
    }

    @Test
    void aMissingOrUnknownOptionFailsNamingIt() {
        assertThatThrownBy(() -> camel.getEndpoint("pgauditfile:audit-file-sink?sync=false")).rootCause()
                .hasMessage("audit-file-sink needs path: the file to append to, e.g. path: /var/log/orders.jsonl");
        assertThatThrownBy(() -> camel.getEndpoint("pgauditfile:audit-file-sink?path=/tmp/x&pathh=/tmp/y")).hasMessageContaining("pathh");
        assertThatThrownBy(() -> camel.getEndpoint("pgauditfile:audit-file-sink?path=/tmp/x&retries=-1")).rootCause()
                .hasMessage("audit-file-sink retries must be 0 or more, got -1");
    }

    @Test
    void aSinkOffTheRetryContractRefusesRetryOptions() {
        camel.addComponent("pgplain", new SinkComponent<>(new SinkType<>("plain", () -> new AuditFileConfig() {
            @Override
            public boolean retrying() {
                return false;
            }
        }, AuditFileSink::new), new DeliveryContract(stores.retries, worker, stores.deadLetters, stores.destinations, stores.out)));

        assertThatThrownBy(() -> camel.getEndpoint("pgplain:x?path=/tmp/x&retries=2")).rootCause()
                .hasMessageContaining("audit-file-sink has no retries").hasMessageContaining("remove retries");
        assertThat(camel.getEndpoint("pgplain:x?path=/tmp/x", SinkEndpoint.class).destinationDown()).isFalse();
    }

    @Test
    void aFailingDestinationParksEventsInOrderAndTheRetryWorkerDeliversThem() throws Exception {
        Path file = dir.resolve("orders.jsonl");
        // a folder where the file should be: every append fails until it is removed
        Files.createDirectory(file);
        route("path=" + file + "&retries=1&backoffMs=1&maxBackoffMs=200");

        send("e1", "1");
        send("e2", "1");
        send("e3", "2");
        // the source's batch end: what it parked while the destination was down is written
        ((BatchBoundary) camel.getComponent("pgauditfile")).flush();
        assertThat(stores.text("SELECT string_agg(event::json->>'id', ',' ORDER BY id) FROM pgrouter.retries")).isEqualTo("e1,e2,e3");
        assertThat(camel.getEndpoint("pgauditfile:audit-file-sink?path=" + file + "&retries=1&backoffMs=1&maxBackoffMs=200", SinkEndpoint.class)
                .destinationDown()).isTrue();

        Files.delete(file);
        worker.start();
        await().atMost(Duration.ofSeconds(30)).until(() -> stores.retries.size() == 0);
        List<String> ids = ids(file);
        assertThat(ids).containsExactlyInAnyOrder("e1", "e2", "e3");
        assertThat(ids).containsSubsequence("e1", "e2");
        assertThat(stores.count("SELECT count(*) FROM pgrouter.dead_letters")).isZero();
    }
}
