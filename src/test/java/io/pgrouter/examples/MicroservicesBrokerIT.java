package io.pgrouter.examples;

import static io.pgrouter.examples.MicroservicesBrokerExampleTest.publish;
import static io.pgrouter.examples.MicroservicesBrokerExampleTest.received;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.pgrouter.demo.WebhookReceiver.Delivery;
import io.pgrouter.testing.RouterProcess;
import io.pgrouter.testing.Sql;
import io.pgrouter.testing.TestServers;

/**
 * {@code examples/microservices-broker} as its README runs it: the SQL, {@code bin/pgrouter install}, the packaged
 * router on the example's folder. Rows committed while the router is stopped reach both services when it starts again.
 */
class MicroservicesBrokerIT {

    static final TestServers servers = new TestServers();
    static Map<String, String> config;

    @BeforeAll
    static void startServers() throws Exception {
        config = new HashMap<>(servers.start());
        config.put("quarkus.http.port", "0");
        config.put("pgrouter.routes.dir", Path.of("examples/microservices-broker").toAbsolutePath().toString());
        config.put("pgrouter.services.billing.url", TestServers.webhook.url("/billing"));
        config.put("pgrouter.services.shipping.url", TestServers.webhook.url("/shipping"));
        Sql.exec(Files.readString(Path.of("examples/microservices-broker/outbox.sql")));
        ProcessBuilder command = new ProcessBuilder("bin/pgrouter", "install", "--table", "broker.outbox", "--mode", "durable", "--channel", "outbox")
                .redirectErrorStream(true);
        command.environment().put("PGROUTER_POSTGRES_URL", TestServers.db.jdbcUrl());
        command.environment().put("PGROUTER_POSTGRES_PASSWORD", TestServers.db.password());
        Process install = command.start();
        assertThat(install.waitFor(60, TimeUnit.SECONDS)).isTrue();
        String output = new String(install.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(install.exitValue()).as(output).isZero();
    }

    @AfterAll
    static void stopServers() {
        servers.stop();
    }

    static List<String> bodies(String service) {
        return TestServers.webhook.deliveries(service).stream().map(Delivery::body).toList();
    }

    @Test
    void rowsCommittedWhileTheRouterIsStoppedReachBothServicesWhenItStartsAgain() throws Exception {
        List<Long> ids = new ArrayList<>();
        try (RouterProcess router = RouterProcess.start(config)) {
            await().atMost(Duration.ofSeconds(60)).until(() -> Sql.count("SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'pgrouter' AND active") == 1);
            ids.addAll(publish(3, "order.placed"));
            await().atMost(Duration.ofSeconds(30)).until(() -> received(bodies("/billing"), ids).size() >= 3 && received(bodies("/shipping"), ids).size() >= 3);
        }
        for (int i = 0; i < 10; i++) ids.addAll(publish(2, "order.placed")); // the router is stopped
        try (RouterProcess router = RouterProcess.start(config)) {
            await().atMost(Duration.ofSeconds(60)).until(() -> received(bodies("/billing"), ids).containsAll(ids) && received(bodies("/shipping"), ids).containsAll(ids));
            // at-least-once: what was delivered just before the stop may come again, with the same webhook-id (the event id)
            assertThat(new java.util.TreeSet<>(received(bodies("/billing"), ids))).containsExactlyElementsOf(new java.util.TreeSet<>(ids));
            assertThat(new java.util.TreeSet<>(received(bodies("/shipping"), ids))).containsExactlyElementsOf(new java.util.TreeSet<>(ids));
            for (String service : List.of("/billing", "/shipping")) {
                Map<Long, java.util.Set<String>> webhookIds = new HashMap<>();
                for (Delivery d : TestServers.webhook.deliveries(service)) {
                    webhookIds.computeIfAbsent(received(List.of(d.body()), ids).stream().findFirst().orElse(-1L), k -> new java.util.HashSet<>()).add(d.header("webhook-id"));
                }
                assertThat(webhookIds.values()).allSatisfy(sameEvent -> assertThat(sameEvent).hasSize(1));
                // a clean stop marks what was delivered: nothing comes twice
                assertThat(received(bodies(service), ids)).as("deliveries to %s", service).hasSameSizeAs(ids);
            }
        }
    }
}
