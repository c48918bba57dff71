package io.pgrouter.delivery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.pgrouter.demo.EmbeddedDatabase;
import io.pgrouter.demo.WebhookReceiver;
import io.pgrouter.event.CanonicalEvent;
import io.pgrouter.postgres.Postgres;
import io.pgrouter.testing.Dirs;

/**
 * Two routers sharing one retry store and one dead-letter store (the Kafka tier: every replica runs a retry worker and
 * a replayer): each waiting event is sent once, and one subject's events reach the receiver in order, though both
 * workers run their rounds at the same time; a requested replay is taken by one router only, and by another when that
 * one dies. Real PostgreSQL (two sessions, as two pods have) and a real, slow HTTP receiver.
 */
class SharedStoresTest {

    static EmbeddedDatabase db;
    static Path dir;
    static WebhookReceiver receiver;
    static final String PASSWORD = "pw-" + java.util.UUID.randomUUID();

    @BeforeAll
    static void start() throws Exception {
        dir = Files.createTempDirectory("shared-retries");
        db = new EmbeddedDatabase(dir, 0, PASSWORD).start();
        receiver = new WebhookReceiver(0);
        receiver.delay("/claims", 30);
    }

    @AfterAll
    static void stop() throws Exception {
        if (receiver != null) receiver.close();
        if (db != null) db.close();
        Dirs.deleteTree(dir);
    }

    /** What one router sends a waiting event with: a POST of the event to the receiver. */
    static final class HttpSink implements Redeliverable {
        final HttpClient http = HttpClient.newHttpClient();

        @Override
        public String sinkKey() {
            return "webhook:claims";
        }

        @Override
        public void redeliver(String eventJson) throws SinkDeliveryException, InterruptedException {
            try {
                int status = http.send(HttpRequest.newBuilder(URI.create(receiver.url("/claims"))).POST(HttpRequest.BodyPublishers.ofString(eventJson)).build(),
                        HttpResponse.BodyHandlers.discarding()).statusCode();
                if (status / 100 != 2) throw new SinkDeliveryException("webhook", "status " + status, status, null, 1, true, null, null);
            } catch (java.io.IOException e) {
                throw new SinkDeliveryException("webhook", e.toString(), null, null, 1, true, null, e);
            }
        }

        @Override
        public DurableDelivery.Policy policy() {
            return new DurableDelivery.Policy(0, 100, 1000, 0, 3_600_000);
        }

        @Override
        public int concurrency() {
            return 4;
        }
    }

    RetryWorker router(RetryStore store) {
        RetryWorker worker = new RetryWorker(store, new DeadLetterStore(postgres()), new EventsOut(new SimpleMeterRegistry()));
        worker.register(new HttpSink());
        return worker;
    }

    static Postgres postgres() {
        return new Postgres(new io.pgrouter.testing.PostgresSettings(db.jdbcUrl(), PASSWORD, "public"));
    }

    static String event(String subject, int version) {
        return "{\"specversion\":\"1.0\",\"id\":\"" + subject + "-" + version + "\",\"source\":\"/postgres/test/public.t\",\"subject\":\"" + subject
                + "\",\"pgop\":\"update\",\"data\":{\"version\":" + version + "}}";
    }

    @Test
    void twoRoutersSendEachWaitingEventOnceAndEachSubjectInOrder() throws Exception {
        RetryStore a = new RetryStore(postgres()), b = new RetryStore(postgres());
        int subjects = 6, versions = 5;
        for (int v = 1; v <= versions; v++) {
            for (int s = 0; s < subjects; s++) a.park("webhook:claims", "r", "s" + s, event("s" + s, v), 0, Instant.now(), null, "down");
        }
        RetryWorker first = router(a), second = router(b);
        first.start();
        second.start();
        try {
            await().atMost(Duration.ofSeconds(60)).until(() -> a.size() == 0);
        } finally {
            first.stop();
            second.stop();
        }
        List<JsonNode> got = new ArrayList<>();
        for (WebhookReceiver.Delivery d : receiver.deliveries("/claims")) got.add(CanonicalEvent.JSON.readTree(d.body()));
        Set<String> ids = new HashSet<>();
        Map<String, List<Integer>> bySubject = new TreeMap<>();
        for (JsonNode e : got) {
            assertThat(ids.add(e.get("id").asText())).as("sent twice: %s", e.get("id").asText()).isTrue();
            bySubject.computeIfAbsent(e.get("subject").asText(), k -> new ArrayList<>()).add(e.path("data").path("version").asInt());
        }
        assertThat(ids).hasSize(subjects * versions);
        assertThat(bySubject.values()).allSatisfy(order -> assertThat(order).containsExactly(1, 2, 3, 4, 5));
    }

    @Test
    void aRequestedReplayIsClaimedByOneRouterAndLeftToAnotherWhenThatOneDies() throws Exception {
        DeadLetterStore a = new DeadLetterStore(postgres()), b = new DeadLetterStore(postgres());
        a.ensureSchema();
        a.record(CanonicalEvent.fromJson(event("s9", 1)), event("s9", 1), "r", new IllegalStateException("down"));
        long first = Long.parseLong(query("SELECT max(id) FROM public.dead_letters"));
        a.record(CanonicalEvent.fromJson(event("s9", 2)), event("s9", 2), "r", new IllegalStateException("down"));
        long second = first + 1;
        query("UPDATE public.dead_letters SET replay_requested_at = now() RETURNING 1");

        assertThat(a.claimReplay(first)).isTrue();
        assertThat(b.claimReplay(first)).as("claimed by the other router").isFalse();
        a.replayed(first);
        a.releaseReplay(first);
        assertThat(b.claimReplay(first)).as("replayed already").isFalse();

        assertThat(a.claimReplay(second)).isTrue();
        a.close(); // the router dies: its session, and its claim, end (PostgreSQL ends the session just after the socket closes)
        await().atMost(Duration.ofSeconds(10)).until(() -> b.claimReplay(second));
        b.releaseReplay(second);
        b.close();
    }

    static String query(String sql) throws Exception {
        try (var c = db.connect(); var s = c.createStatement(); var rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }
}
