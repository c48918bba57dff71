package io.pgrouter.sink.webhook;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import com.standardwebhooks.Webhook;

import io.cloudevents.CloudEvent;
import io.cloudevents.core.provider.EventFormatProvider;
import io.cloudevents.http.HttpMessageFactory;
import io.cloudevents.jackson.JsonFormat;
import io.pgrouter.demo.WebhookReceiver;
import io.pgrouter.testing.Lake;
import io.pgrouter.testing.Sql;
import io.pgrouter.testing.TestServers;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * The webhook sink against a real HTTP receiver, checked with implementations we did not write: the Standard
 * Webhooks reference library verifies signatures, the CloudEvents SDK parses structured and binary requests.
 */
@QuarkusTest
@QuarkusTestResource(value = TestServers.class, restrictToAnnotatedClass = false)
class WebhookSinkTest {

    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final AtomicInteger IDS = new AtomicInteger(1000);

    static WebhookReceiver receiver() {
        return TestServers.webhook;
    }

    /** Inserts a row the test route sends to the receiver path of the same name; returns its id (the subject). */
    static int send(String target) {
        int id = IDS.incrementAndGet();
        Sql.exec("INSERT INTO test.hooks (id, target, note) VALUES (" + id + ", '" + target + "', 'n" + id + "')");
        return id;
    }

    static com.fasterxml.jackson.databind.JsonNode readTree(String body) {
        try {
            return io.pgrouter.event.CanonicalEvent.JSON.readTree(body);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(body, e);
        }
    }

    static Map<String, List<String>> lowerCase(Map<String, List<String>> headers) {
        Map<String, List<String>> result = new HashMap<>();
        headers.forEach((k, v) -> result.put(k.toLowerCase(), v));
        return result;
    }

    static long deadLetters(int id, String extraCondition) {
        return Sql.count("SELECT count(*) FROM pgrouter.dead_letters WHERE route_id = 'wal-hooks-to-webhooks' AND event->>'subject' = '" + id + "'"
                + extraCondition);
    }

    /** Everything the application logs while these tests run, messages and stack traces. */
    static final StringBuffer LOG = new StringBuffer();

    @org.junit.jupiter.api.BeforeAll
    static void captureLogs() {
        java.util.logging.Logger.getLogger("").addHandler(new java.util.logging.Handler() {
            @Override
            public void publish(java.util.logging.LogRecord record) {
                LOG.append(record.getLoggerName()).append(' ').append(record.getMessage());
                if (record.getParameters() != null) LOG.append(' ').append(java.util.Arrays.toString(record.getParameters()));
                if (record.getThrown() != null) {
                    java.io.StringWriter trace = new java.io.StringWriter();
                    record.getThrown().printStackTrace(new java.io.PrintWriter(trace));
                    LOG.append(' ').append(trace);
                }
                LOG.append('\n');
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        });
    }

    @BeforeEach
    void answerOk() {
        receiver().answerWith(200);
    }

    @Test
    void secretsNeverAppearInLogsErrorsOrDeadLetters() {
        receiver().script("/signed-bad", 500, 400);
        int id = send("signed-bad");
        await().atMost(WAIT).until(() -> deadLetters(id, " AND last_status = 400 AND attempts = 2") == 1);
        assertThat(LOG).as("the failure was logged").contains("signed-bad");
        for (String secret : List.of(TestServers.SECRET_A, TestServers.SECRET_B)) {
            String key = secret.substring("whsec_".length());
            assertThat(LOG.toString()).doesNotContain(key);
            assertThat(Sql.count("SELECT count(*) FROM pgrouter.dead_letters WHERE error LIKE '%" + key + "%' OR event::text LIKE '%" + key
                    + "%' OR coalesce(response_excerpt, '') LIKE '%" + key + "%'")).isZero();
        }
        assertThat(receiver().attempts("/signed-bad")).allSatisfy(a -> assertThat(a.request().header("webhook-signature")).startsWith("v1,"));
    }

    @Test
    void structuredEventsAreSignedForEverySecretAndParseAsCloudEvents() throws Exception {
        int id = send("signed");
        await().atMost(WAIT).until(() -> receiver().deliveries("/signed").stream().anyMatch(d -> d.body().contains("\"subject\":\"" + id + "\"")));
        WebhookReceiver.Delivery d = receiver().deliveries("/signed").stream().filter(x -> x.body().contains("\"subject\":\"" + id + "\"")).findFirst().orElseThrow();

        // the reference implementation accepts the signature with either secret (rotation)
        new Webhook(TestServers.SECRET_A).verify(d.body(), lowerCase(d.headers()));
        new Webhook(TestServers.SECRET_B).verify(d.body(), lowerCase(d.headers()));
        assertThat(d.header("webhook-signature").split(" ")).hasSize(2).allMatch(s -> s.startsWith("v1,"));
        assertThat(d.header("x-tenant")).isEqualTo("shop");
        assertThat(d.header("content-type")).startsWith("application/cloudevents+json");

        CloudEvent event = EventFormatProvider.getInstance().resolveFormat(JsonFormat.CONTENT_TYPE)
                .deserialize(d.body().getBytes(StandardCharsets.UTF_8));
        assertThat(event.getType()).isEqualTo("postgres.row.insert");
        assertThat(event.getSubject()).isEqualTo(String.valueOf(id));
        assertThat(event.getId()).isEqualTo(d.header("webhook-id"));
        assertThat(event.getExtension("pgtable")).isEqualTo("hooks");
        assertThat(new String(event.getData().toBytes(), StandardCharsets.UTF_8)).contains("\"target\":\"signed\"");
    }

    @Test
    void binaryModeSendsTheDataAsBodyAndTheAttributesAsHeaders() throws Exception {
        int id = send("binary");
        await().atMost(WAIT).until(() -> receiver().deliveries("/binary").stream().anyMatch(d -> id == Integer.parseInt(
                String.valueOf(d.header("ce-subject")))));
        WebhookReceiver.Delivery d = receiver().deliveries("/binary").stream().filter(x -> String.valueOf(id).equals(x.header("ce-subject")))
                .findFirst().orElseThrow();
        new Webhook(TestServers.SECRET_A).verify(d.body(), lowerCase(d.headers()));
        Map<String, String> headers = new HashMap<>();
        d.headers().forEach((k, v) -> headers.put(k.toLowerCase(), v.get(0)));
        CloudEvent event = HttpMessageFactory.createReader(headers, d.body().getBytes(StandardCharsets.UTF_8)).toEvent();
        assertThat(event.getType()).isEqualTo("postgres.row.insert");
        assertThat(event.getSubject()).isEqualTo(String.valueOf(id));
        assertThat(event.getExtension("pgschema")).isEqualTo("test");
        assertThat(new String(event.getData().toBytes(), StandardCharsets.UTF_8)).startsWith("{\"before\":null,\"after\":{\"id\":" + id);
    }

    @Test
    void aReceiverFailingWith500ThenRecoveringGetsTheEventWithTheSameWebhookIdOnEveryAttempt() {
        receiver().script("/flaky", 500, 503, 500);
        int id = send("flaky");
        await().atMost(WAIT).until(() -> receiver().deliveries("/flaky").size() == 1);
        List<WebhookReceiver.Attempt> attempts = receiver().attempts("/flaky");
        assertThat(attempts).extracting(WebhookReceiver.Attempt::status).containsExactly(500, 503, 500, 200);
        assertThat(attempts).extracting(a -> a.request().header("webhook-id")).containsOnly(attempts.get(0).request().header("webhook-id"));
        assertThat(deadLetters(id, "")).isZero();
    }

    @Test
    void aReceiverDownForAWhileGetsEveryEventInOrderPerSubjectFromTheDurableRetryStore() {
        receiver().script("/durable", 500, 500, 500);
        Sql.exec("INSERT INTO test.durable_hooks VALUES (1, 'a')");
        Sql.exec("UPDATE test.durable_hooks SET note = 'b' WHERE id = 1");
        Sql.exec("UPDATE test.durable_hooks SET note = 'c' WHERE id = 1");
        Sql.exec("INSERT INTO test.durable_hooks VALUES (2, 'x')");
        await().atMost(WAIT).until(() -> receiver().deliveries("/durable").size() == 4);
        List<String> notesOfOne = receiver().deliveries("/durable").stream().filter(d -> d.body().contains("\"subject\":\"1\""))
                .map(d -> readTree(d.body()).at("/data/after/note").asText()).toList();
        assertThat(notesOfOne).containsExactly("a", "b", "c");
        // the first event of subject 1 met the failures: every attempt carried its one webhook-id
        String firstId = receiver().attempts("/durable").get(0).request().header("webhook-id");
        assertThat(receiver().attempts("/durable").stream().filter(a -> a.request().header("webhook-id").equals(firstId)))
                .extracting(WebhookReceiver.Attempt::status).contains(500).endsWith(200);
        assertThat(receiver().attempts("/durable")).hasSizeGreaterThanOrEqualTo(7);
        await().atMost(WAIT).until(() -> Sql.count("SELECT count(*) FROM pgrouter.retries") == 0);
        assertThat(Sql.count("SELECT count(*) FROM pgrouter.dead_letters WHERE route_id = 'wal-durable-hooks-to-webhook'")).isZero();
    }

    @Test
    void aSubjectWithABacklogInTheRetryStoreCatchesUpInOrderOnceTheReceiverRecovers() {
        receiver().script("/backlog", 500, 500);
        Sql.exec("INSERT INTO test.backlog_hooks VALUES (1, 0)");
        for (int n = 1; n <= 40; n++) Sql.exec("UPDATE test.backlog_hooks SET n = " + n + " WHERE id = 1");
        // the retry worker runs a round a second: one event per round would need 40 s and more
        await().atMost(WAIT).until(() -> receiver().deliveries("/backlog").size() == 41);
        assertThat(receiver().deliveries("/backlog").stream().map(d -> readTree(d.body()).at("/data/after/n").asInt()).toList())
                .isEqualTo(java.util.stream.IntStream.rangeClosed(0, 40).boxed().toList());
        await().atMost(WAIT).until(() -> Sql.count("SELECT count(*) FROM pgrouter.retries WHERE route_id = 'wal-backlog-hooks-to-webhook'") == 0);
    }

    @Test
    void byDefaultSubjectsGoInParallelAndEachSubjectInOrder() {
        receiver().delay("/parallel", 100);
        // one transaction: 20 subjects, then subjects 1-5 updated five times each, interleaved
        StringBuilder tx = new StringBuilder("BEGIN; INSERT INTO test.parallel_hooks SELECT i, 'a' FROM generate_series(1, 20) i; ");
        for (String note : List.of("b", "c", "d", "e", "f")) tx.append("UPDATE test.parallel_hooks SET note = '").append(note).append("' WHERE id <= 5; ");
        Sql.exec(tx.append("COMMIT").toString());
        await().atMost(WAIT).until(() -> receiver().deliveries("/parallel").size() == 45);
        assertThat(receiver().maxInFlight()).isGreaterThan(1);
        for (int subject = 1; subject <= 5; subject++) {
            String s = Integer.toString(subject);
            List<String> notes = receiver().deliveries("/parallel").stream().map(d -> readTree(d.body()))
                    .filter(e -> e.get("subject").asText().equals(s)).map(e -> e.at("/data/after/note").asText()).toList();
            assertThat(notes).as("subject " + s).containsExactly("a", "b", "c", "d", "e", "f");
        }
    }

    @Test
    void batchedModeSendsSignedArraysOfCloudEventsInOrder() throws Exception {
        Sql.exec("INSERT INTO test.batched_hooks SELECT i, 'n' || i FROM generate_series(1, 12) i");
        await().atMost(WAIT).until(() -> receiver().deliveries("/batch").stream().mapToInt(d -> readTree(d.body()).size()).sum() == 12);
        List<WebhookReceiver.Delivery> batches = receiver().deliveries("/batch");
        // batches of at most batchSize; a partial one goes out at the end of each Debezium batch (usually 5, 5, 2 here)
        assertThat(batches).extracting(d -> readTree(d.body()).size()).allMatch(n -> n <= 5).anyMatch(n -> n > 1);
        List<String> subjects = new java.util.ArrayList<>();
        for (WebhookReceiver.Delivery d : batches) {
            assertThat(d.header("content-type")).startsWith("application/cloudevents-batch+json");
            new Webhook(TestServers.SECRET_B).verify(d.body(), lowerCase(d.headers()));
            for (com.fasterxml.jackson.databind.JsonNode element : readTree(d.body())) {
                CloudEvent event = EventFormatProvider.getInstance().resolveFormat(JsonFormat.CONTENT_TYPE)
                        .deserialize(element.toString().getBytes(StandardCharsets.UTF_8));
                assertThat(event.getType()).isEqualTo("postgres.row.insert");
                subjects.add(event.getSubject());
            }
        }
        assertThat(subjects).containsExactly("1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12");
    }

    @jakarta.inject.Inject
    io.micrometer.core.instrument.MeterRegistry meters;

    private double eventsIn(String table) {
        return io.pgrouter.testing.Meters.eventsIn(meters, table);
    }

    @Test
    void aLingeringBatchGathersEventsOfSeveralSourceBatchesAndHoldsTheSlotBeforeThem() {
        String before = Sql.text("SELECT pg_current_wal_lsn()");
        String slotHeld = "SELECT (confirmed_flush_lsn <= '" + before + "'::pg_lsn)::int FROM pg_replication_slots WHERE slot_name = 'pgrouter'";
        double in = eventsIn("test.linger_hooks");
        for (int id = 1; id <= 3; id++) {
            Sql.exec("INSERT INTO test.linger_hooks VALUES (" + id + ", 'n')");
            double expected = in + id;
            // routed before the next commit: each row comes in its own source batch
            await().atMost(WAIT).until(() -> eventsIn("test.linger_hooks") >= expected);
        }
        assertThat(receiver().deliveries("/linger")).isEmpty();
        // held in memory only: the slot must not confirm past them. Debezium stores offsets when a source batch
        // ends at least a second (offset-flush-interval-ms) after the last store: wait that long, then end a batch
        await().pollDelay(Duration.ofMillis(1100)).until(() -> true);
        double echoes = eventsIn("test.echo");
        Sql.exec("INSERT INTO test.echo VALUES (" + (900_000 + new java.util.Random().nextInt(99_999)) + ")");
        await().atMost(WAIT).until(() -> eventsIn("test.echo") > echoes);
        await().during(Duration.ofMillis(500)).atMost(Duration.ofMillis(1000)).until(() -> Sql.count(slotHeld) == 1);
        assertThat(receiver().deliveries("/linger")).isEmpty();
        await().atMost(WAIT).until(() -> receiver().deliveries("/linger").size() == 1);
        com.fasterxml.jackson.databind.JsonNode batch = readTree(receiver().deliveries("/linger").get(0).body());
        assertThat(batch).extracting(e -> e.get("subject").asText()).containsExactly("1", "2", "3");
        // delivered: the next source batch moves the slot past them
        Sql.exec("INSERT INTO test.linger_hooks VALUES (4, 'n')");
        await().atMost(WAIT).until(() -> Sql.count(slotHeld) == 0);
    }

    @Test
    void retryAfterIsHonoured() {
        receiver().retryAfter("/retry-after", "1");
        receiver().script("/retry-after", 429);
        send("retry-after");
        await().atMost(WAIT).until(() -> receiver().deliveries("/retry-after").size() == 1);
        List<WebhookReceiver.Attempt> attempts = receiver().attempts("/retry-after");
        assertThat(attempts).hasSize(2);
        // the sink's own backoff is 10 ms here: a gap of a second can only come from Retry-After: 1
        assertThat(attempts.get(1).receivedAtMillis() - attempts.get(0).receivedAtMillis()).isGreaterThanOrEqualTo(950);
    }

    @Test
    void goneDisablesTheEndpointAndItsEventsGoToDeadLetters() throws Exception {
        receiver().script("/gone", 410);
        int first = send("gone");
        await().atMost(WAIT).until(() -> deadLetters(first, " AND last_status = 410 AND sink = 'webhook-sink' AND attempts = 1") == 1);
        int second = send("gone");
        await().atMost(WAIT).until(() -> deadLetters(second, " AND error LIKE '%disabled%'") == 1);
        assertThat(receiver().attempts("/gone")).hasSize(1);
        assertThat(get(readiness)).contains("/gone").contains("pgrouter-webhooks");
        assertThat(get(metrics)).containsPattern("pgrouter_webhook_disabled_endpoints\\S* 1.0");
        assertThat(Sql.count("SELECT count(*) FROM pgrouter.disabled_webhooks WHERE url LIKE '%/gone'")).isEqualTo(1);

        // the receiver is back: bin/pgrouter webhooks enable <url>, and the next event goes out
        System.setProperty("pgrouter.postgres.url", TestServers.db.jdbcUrl());
        System.setProperty("pgrouter.postgres.password", TestServers.PG_PASSWORD);
        assertThat(io.pgrouter.Cli.run("webhooks", "enable", receiver().url("/gone"))).isZero();
        await().atMost(WAIT).until(() -> !get(readiness).contains("/gone"));
        int third = send("gone");
        await().atMost(WAIT).until(() -> receiver().deliveries("/gone").stream().anyMatch(d -> d.body().contains("\"subject\":\"" + third + "\"")));
    }

    @io.quarkus.test.common.http.TestHTTPResource("/q/health/ready")
    java.net.URL readiness;

    @io.quarkus.test.common.http.TestHTTPResource("/q/metrics")
    java.net.URL metrics;

    static String get(java.net.URL url) throws Exception {
        return java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(url.toURI()).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString()).body();
    }

    @Test
    void aDownReceiverParksNewEventsAtOnceSaysSoInHealthAndMetricsAndGetsEverythingInOrderWhenBack() throws Exception {
        Integer[] down = new Integer[100_000];
        java.util.Arrays.fill(down, 503);
        receiver().script("/down", down);
        String destination = "webhook-sink " + receiver().url("/down");
        String gauge = "pgrouter_sink_down\\{destination=\"" + java.util.regex.Pattern.quote(receiver().url("/down")) + "\",sink=\"webhook-sink\"\\} ";
        long started = System.nanoTime();
        // one transaction each, as users write: each is its own source batch
        for (int id = 1; id <= 20; id++) Sql.exec("INSERT INTO test.down_hooks VALUES (" + id + ", 'a')");
        Sql.exec("UPDATE test.down_hooks SET note = 'b' WHERE id = 1");
        // the lake route on the same source keeps going: one event spends the in-line retries (~2 s), the rest are parked at once
        await().atMost(Duration.ofSeconds(20)).until(() -> Lake.rows("test.down_hooks").size() == 21);
        assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(15));
        String health = get(readiness);
        assertThat(health).contains("\"status\": \"UP\"").contains("pgrouter-sinks").contains(destination).contains("down since");
        assertThat(get(metrics)).containsPattern(gauge + "1.0");
        assertThat(receiver().deliveries("/down")).isEmpty();

        // back: the retry worker's probe succeeds, every event arrives, the subject's in order, and new events go directly
        receiver().script("/down");
        await().atMost(WAIT).until(() -> receiver().deliveries("/down").size() == 21);
        assertThat(receiver().deliveries("/down").stream().map(d -> readTree(d.body())).filter(e -> e.get("subject").asText().equals("1"))
                .map(e -> e.at("/data/after/note").asText()).toList()).containsExactly("a", "b");
        await().atMost(WAIT).until(() -> !get(readiness).contains(destination));
        assertThat(get(metrics)).containsPattern(gauge + "0.0");
        Sql.exec("INSERT INTO test.down_hooks VALUES (21, 'a')");
        await().atMost(WAIT).until(() -> receiver().deliveries("/down").size() == 22);
        assertThat(receiver().attempts("/down").stream().filter(a -> a.request().body().contains("\"subject\":\"21\""))).hasSize(1);
        assertThat(Sql.count("SELECT count(*) FROM pgrouter.retries WHERE route_id = 'wal-down-hooks-to-webhook'")).isZero();
    }

    @Test
    void theNotifySourcesBatchEndNeverTakesAWalEventThatCouldNotBeStored() throws Exception {
        // the lane's event fails twice; the route then waits 4 s at the slow receiver, inside the WAL batch
        receiver().script("/flush-lane", 500, 500);
        receiver().delay("/flush-slow", 4000);
        // the retry store cannot take events (it can still be read): nothing failing can be parked
        await().atMost(WAIT).until(() -> Sql.count("SELECT count(*) FROM pg_tables WHERE schemaname = 'pgrouter' AND tablename = 'retries'") == 1);
        Sql.exec("CREATE TRIGGER refuse BEFORE INSERT ON pgrouter.retries FOR EACH ROW EXECUTE FUNCTION test.refuse_parks()");
        try {
            Sql.exec("INSERT INTO test.flush_hooks VALUES (1, 'a')");
            // the lane's event spent its in-line retries and cannot be parked
            await().atMost(WAIT).until(() -> receiver().attempts("/flush-lane").size() == 2);
            // meanwhile the NOTIFY source routes a notification into the same sink and ends its batch
            Sql.exec("SELECT pg_notify('flush_test', '{\"n\": 1}')");
            await().atMost(WAIT).until(() -> receiver().deliveries("/flush-notify").size() == 1);
        } finally {
            Sql.exec("DROP TRIGGER refuse ON pgrouter.retries");
        }
        // the WAL source must not move past the event: it comes again and reaches the receiver, now answering 200
        await().atMost(Duration.ofSeconds(60)).until(() -> receiver().deliveries("/flush-lane").stream().anyMatch(d -> d.body().contains("\"subject\":\"1\"")));
        receiver().delay("/flush-slow", 0);
    }

    @Test
    void aBadRequestIsDeadLetteredAtOnceWithTheAnswer() {
        receiver().script("/bad", 400);
        int id = send("bad");
        await().atMost(WAIT).until(() -> deadLetters(id, " AND last_status = 400 AND attempts = 1") == 1);
        assertThat(receiver().attempts("/bad")).hasSize(1);
    }

    @Test
    void aRedirectIsNotFollowedAndIsDeadLetteredAtOnce() {
        receiver().script("/redirect", 302);
        int id = send("redirect");
        await().atMost(WAIT).until(() -> deadLetters(id, " AND last_status = 302 AND attempts = 1") == 1);
        assertThat(receiver().attempts("/redirect")).hasSize(1);
        assertThat(receiver().attempts("/redirect-moved")).isEmpty();
    }

    @Test
    void replayReDeliversADeadLetterWithItsOriginalId() {
        receiver().script("/replay", 400);
        int id = send("replay");
        await().atMost(WAIT).until(() -> deadLetters(id, " AND last_status = 400") == 1);
        long deadLetter = Sql.count("SELECT id FROM pgrouter.dead_letters WHERE event->>'subject' = '" + id + "' AND route_id = 'wal-hooks-to-webhooks'");
        // as bin/pgrouter dead-letters list / replay --id N do it, beside the running router
        System.setProperty("pgrouter.postgres.url", TestServers.db.jdbcUrl());
        System.setProperty("pgrouter.postgres.password", TestServers.PG_PASSWORD);
        java.io.ByteArrayOutputStream listed = new java.io.ByteArrayOutputStream();
        java.io.PrintStream stdout = System.out;
        System.setOut(new java.io.PrintStream(listed, true, StandardCharsets.UTF_8));
        try {
            assertThat(io.pgrouter.Cli.run("dead-letters", "list", "--sink", "webhook-sink")).isZero();
        } finally {
            System.setOut(stdout);
        }
        assertThat(listed.toString(StandardCharsets.UTF_8)).containsPattern(deadLetter + "\\t[^\\n]*\\twal-hooks-to-webhooks\\twebhook-sink\\t400\\t1\\t[^\\t]+:test.hooks:" + id
                + "\\tpostgres.row.insert\\t" + id + "\\t");
        assertThat(io.pgrouter.Cli.run("dead-letters", "replay", "--id", String.valueOf(deadLetter))).isZero();
        await().atMost(WAIT).until(() -> receiver().deliveries("/replay").size() == 1);
        assertThat(receiver().deliveries("/replay").get(0).header("webhook-id"))
                .isEqualTo(receiver().attempts("/replay").get(0).request().header("webhook-id"));
        await().atMost(WAIT).until(() -> Sql.count("SELECT count(*) FROM pgrouter.dead_letters WHERE id = " + deadLetter + " AND replayed_at IS NOT NULL") == 1);
    }

    @Test
    void aTimeoutIsRetried() {
        receiver().delay("/slow", 1500);
        int id = send("slow");
        await().atMost(WAIT).until(() -> deadLetters(id, " AND attempts = 2 AND last_status IS NULL") == 1);
        await().atMost(WAIT).until(() -> receiver().attempts("/slow").size() == 2);
        assertThat(Sql.count("SELECT count(*) FROM pgrouter.dead_letters WHERE event->>'subject' = '" + id + "' AND response_excerpt ILIKE '%timed out%'"))
                .isEqualTo(1);
    }
}
