package io.pgrouter.source;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.function.Function;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;

import io.pgrouter.testing.Sql;
import io.pgrouter.testing.TestServers;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;

/** PostgreSQL restarts under the router: NOTIFY comes back each time, on one backend, without duplicates. */
@QuarkusTest
@QuarkusTestResource(value = TestServers.class, restrictToAnnotatedClass = false)
class PostgresRestartTest {

    @TestHTTPResource("/q/health/ready")
    URL readiness;

    @jakarta.inject.Inject
    io.pgrouter.source.notify.NotifySource notify;

    @Test
    void fiveRestartsNotifyBackWithinFiveSecondsOnOneBackendWithoutDuplicates() throws Exception {
        String run = UUID.randomUUID().toString();
        for (int restart = 1; restart <= 5; restart++) {
            TestServers.db.stop();
            await().atMost(Duration.ofSeconds(10)).until(() -> readinessStatus() == 503);
            TestServers.db.start();
            String ping = "ping " + run + " " + restart + " ";
            java.util.concurrent.atomic.AtomicInteger attempt = new java.util.concurrent.atomic.AtomicInteger();
            long started = System.nanoTime();
            // NOTIFY is at-most-once: pings sent before the LISTEN is back are lost, so keep sending (each one
            // distinct) until one arrives
            await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(100)).until(() -> {
                Sql.exec("NOTIFY subscriptions, '" + ping + attempt.incrementAndGet() + "'");
                return TestServers.webhook.bodies().stream().anyMatch(b -> b.contains(ping));
            });
            assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(5));
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> readinessStatus() == 200);
        assertThat(Sql.count("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pg-event-router-listen'")).isEqualTo(1);
        // each ping body is delivered once at most, even though many were sent
        String last = "last " + run;
        Sql.exec("NOTIFY subscriptions, '" + last + "'");
        await().atMost(Duration.ofSeconds(5)).until(() -> TestServers.webhook.bodies().stream().anyMatch(b -> b.contains(last)));
        Map<String, Long> perEvent = TestServers.webhook.bodies().stream().filter(b -> b.contains(run))
                .map(b -> RoutesTest.parse(b).get("data").asText()).collect(Collectors.groupingBy(Function.identity(), Collectors.counting()));
        assertThat(perEvent.values()).allMatch(n -> n == 1);
        // and the WAL source is streaming again
        String title = "after-restarts-" + run;
        Sql.exec("INSERT INTO marketplace.products (seller_id, category, title, price) VALUES (1, 'music', '" + title + "', 1)");
        await().atMost(Duration.ofSeconds(60)).until(() -> TestServers.webhook.bodies().stream().anyMatch(b -> b.contains(title)));
    }

    /**
     * The LISTEN connection's first attempts fail (a wrong password, then a database that is not up yet): it connects
     * within a few seconds of the cause going away, not only after a first successful connection.
     */
    @Test
    void listenConnectsSoonAfterAWrongPasswordIsFixedOrTheDatabaseComesUp() throws Exception {
        String run = UUID.randomUUID().toString();
        // an open session keeps its login while the password is wrong: it changes it back
        try (java.sql.Connection admin = TestServers.db.connect(); java.sql.Statement s = admin.createStatement()) {
            notify.stop();
            s.execute("ALTER ROLE postgres PASSWORD 'not-the-configured-one'");
            try {
                notify.start(); // waits up to 5 s for the first connection, then goes on trying
                assertThat(readinessBody()).contains("password authentication failed for user");
            } finally {
                s.execute("ALTER ROLE postgres PASSWORD '" + TestServers.PG_PASSWORD + "'");
            }
            assertNotificationArrivesWithinSeconds("fixed password " + run);
        }

        notify.stop();
        TestServers.db.stop();
        notify.start();
        assertThat(readinessBody()).contains("connecting to");
        TestServers.db.start();
        assertNotificationArrivesWithinSeconds("database up " + run);
        await().atMost(Duration.ofSeconds(60)).until(() -> readinessStatus() == 200);
        assertThat(Sql.count("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pg-event-router-listen'")).isEqualTo(1);
    }

    private void assertNotificationArrivesWithinSeconds(String ping) {
        java.util.concurrent.atomic.AtomicInteger attempt = new java.util.concurrent.atomic.AtomicInteger();
        long started = System.nanoTime();
        // NOTIFY is at-most-once: pings sent before the LISTEN is up are lost, so keep sending distinct ones
        await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(100)).until(() -> {
            Sql.exec("NOTIFY subscriptions, '" + ping + " " + attempt.incrementAndGet() + "'");
            return TestServers.webhook.bodies().stream().anyMatch(b -> b.contains(ping));
        });
        assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(5));
    }

    private String readinessBody() throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(readiness.toString())).build(),
                HttpResponse.BodyHandlers.ofString()).body();
    }

    private int readinessStatus() throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(readiness.toString())).build(),
                HttpResponse.BodyHandlers.discarding()).statusCode();
    }
}
