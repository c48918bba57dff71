package io.pgrouter.sink.rabbitmq;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;

import io.cloudevents.CloudEvent;
import io.cloudevents.core.provider.EventFormatProvider;
import io.cloudevents.jackson.JsonFormat;
import io.pgrouter.event.CanonicalEvent;
import io.pgrouter.testing.RabbitConsumer;
import io.pgrouter.testing.RabbitMqProfile;
import io.pgrouter.testing.RabbitMqResource;
import io.pgrouter.testing.Sql;
import io.pgrouter.testing.TestServers;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;

/**
 * The RabbitMQ sink against a real RabbitMQ (Debian's rabbitmq-server, started by {@link RabbitMqResource}): what
 * consumers receive, one copy per subscriber, per-subject order across two consumers, what the broker refuses,
 * and a 30 s broker outage under load.
 */
@QuarkusTest
@TestProfile(RabbitMqProfile.class)
@QuarkusTestResource(value = TestServers.class, restrictToAnnotatedClass = false)
class RabbitMqSinkTest {

    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final AtomicInteger IDS = new AtomicInteger(5000);

    static String url() {
        return RabbitMqResource.broker.url();
    }

    static JsonNode json(String body) {
        try {
            return CanonicalEvent.JSON.readTree(body);
        } catch (Exception e) {
            throw new IllegalStateException(body, e);
        }
    }

    @Test
    void eachSubscriberGetsEveryChangeAsAPersistentCloudEventWithItsRoutingKey() throws Exception {
        int id = IDS.incrementAndGet();
        try (RabbitConsumer emails = RabbitConsumer.on(url(), "pgrouter.orders", "topic", "emails-" + id, false, "test.rabbit_orders.#", null)
                .consume("emails-" + id);
                RabbitConsumer audit = RabbitConsumer.on(url(), "pgrouter.orders", "topic", "audit-" + id, false, "test.rabbit_orders.*", null)
                        .consume("audit-" + id)) {
            Sql.exec("INSERT INTO test.rabbit_orders (id, status) VALUES (" + id + ", 'new')",
                    "UPDATE test.rabbit_orders SET status = 'paid', version = 2 WHERE id = " + id,
                    "DELETE FROM test.rabbit_orders WHERE id = " + id);
            for (RabbitConsumer c : List.of(emails, audit)) {
                await().atMost(WAIT).until(() -> mine(c, id).size() >= 3);
            }
            List<RabbitConsumer.Received> got = mine(emails, id);
            assertThat(got).hasSize(3);
            assertThat(got).extracting(RabbitConsumer.Received::routingKey)
                    .containsExactly("test.rabbit_orders.insert", "test.rabbit_orders.update", "test.rabbit_orders.delete");
            JsonFormat format = (JsonFormat) EventFormatProvider.getInstance().resolveFormat(JsonFormat.CONTENT_TYPE);
            for (RabbitConsumer.Received m : got) {
                CloudEvent event = format.deserialize(m.body().getBytes(StandardCharsets.UTF_8));
                assertThat(m.properties().getMessageId()).isEqualTo(event.getId());
                assertThat(m.properties().getDeliveryMode()).isEqualTo(2);
                assertThat(m.properties().getContentType()).isEqualTo("application/cloudevents+json");
                assertThat(m.properties().getType()).isEqualTo(event.getType());
                assertThat(m.properties().getTimestamp()).isNotNull();
                assertThat(m.header("ce_id")).isEqualTo(event.getId());
                assertThat(m.header("ce_type")).isEqualTo(event.getType());
                assertThat(m.header("ce_source")).isEqualTo(event.getSource().toString());
                assertThat(m.header("ce_subject")).isEqualTo(String.valueOf(id)).isEqualTo(event.getSubject());
                assertThat(m.header("ce_pgtable")).isEqualTo("rabbit_orders");
                assertThat(m.header("ce_specversion")).isEqualTo("1.0");
            }
            assertThat(json(got.get(1).body()).at("/data/after/status").asText()).isEqualTo("paid");
            assertThat(json(got.get(1).body()).at("/data/changed").toString()).contains("\"status\"");
            // one copy each: the audit service got the same three messages, nothing twice
            assertThat(mine(audit, id)).extracting(m -> m.properties().getMessageId())
                    .containsExactlyElementsOf(got.stream().map(m -> m.properties().getMessageId()).toList());
        }
    }

    @Test
    void theRoutingKeyComesFromAColumnAndARowWithoutOneIsDeadLetteredNamingTheTemplate() throws Exception {
        int id = IDS.addAndGet(10);
        try (RabbitConsumer orders = RabbitConsumer.on(url(), "pgrouter.regions", "topic", "regions-" + id, false, "orders.*", null)
                .consume("regions-" + id)) {
            Sql.exec("INSERT INTO test.rabbit_regions VALUES (" + id + ", 'eu'), (" + (id + 1) + ", NULL), (" + (id + 2) + ", 'us')");
            await().atMost(WAIT).until(() -> mine(orders, id).size() + mine(orders, id + 2).size() == 2);
            assertThat(mine(orders, id)).extracting(RabbitConsumer.Received::routingKey).containsExactly("orders.eu");
            assertThat(mine(orders, id + 2)).extracting(RabbitConsumer.Received::routingKey).containsExactly("orders.us");
            await().atMost(WAIT).until(() -> Sql.count("SELECT count(*) FROM pgrouter.dead_letters WHERE route_id = 'wal-rabbit-regions-to-rabbitmq'") == 1);
            assertThat(Sql.text("SELECT sink || ' ' || (event->>'subject') || ' ' || error FROM pgrouter.dead_letters WHERE route_id = 'wal-rabbit-regions-to-rabbitmq'"))
                    .startsWith("rabbitmq-sink " + (id + 1) + " ").contains("template 'orders.${after.region}' has no value for ${after.region}");
            assertThat(mine(orders, id + 1)).isEmpty();
        }
    }

    private static List<RabbitConsumer.Received> mine(RabbitConsumer c, int id) {
        return c.received.stream().filter(m -> String.valueOf(id).equals(m.header("ce_subject"))).toList();
    }

    @Test
    void twoConsumersShareTheStreamBySubjectAndEachSubjectStaysInOrder() throws Exception {
        int first = IDS.addAndGet(100) - 99;
        int subjects = 20;
        int versions = 10;
        // a consistent-hash exchange on ce_subject behind the sink's topic exchange: each subject goes to one queue
        Map<String, Object> bySubject = Map.of("hash-header", "ce_subject");
        try (RabbitConsumer a = RabbitConsumer.on(url(), "orders.by-subject-" + first, "x-consistent-hash", "worker-a-" + first, false, "1", bySubject);
                RabbitConsumer b = RabbitConsumer.on(url(), "orders.by-subject-" + first, "x-consistent-hash", "worker-b-" + first, false, "1", bySubject)) {
            a.channel().exchangeDeclare("pgrouter.orders", "topic", true);
            a.channel().exchangeBind("orders.by-subject-" + first, "pgrouter.orders", "test.rabbit_orders.*");
            a.consume("worker-a-" + first);
            b.consume("worker-b-" + first);
            List<String> statements = new ArrayList<>();
            for (int s = 0; s < subjects; s++) statements.add("INSERT INTO test.rabbit_orders (id, status) VALUES (" + (first + s) + ", 'v1')");
            Sql.exec(statements.toArray(String[]::new));
            // many small transactions interleaving the subjects, then one big one
            for (int v = 2; v <= versions / 2; v++) {
                for (int s = 0; s < subjects; s++) Sql.exec("UPDATE test.rabbit_orders SET version = " + v + " WHERE id = " + (first + s));
            }
            statements.clear();
            for (int v = versions / 2 + 1; v <= versions; v++) {
                for (int s = 0; s < subjects; s++) statements.add("UPDATE test.rabbit_orders SET version = " + v + " WHERE id = " + (first + s));
            }
            try (Connection c = TestServers.db.connect(); Statement st = c.createStatement()) {
                c.setAutoCommit(false);
                for (String sql : statements) st.execute(sql);
                c.commit();
            }
            Set<String> ours = new java.util.HashSet<>();
            for (int s = 0; s < subjects; s++) ours.add(String.valueOf(first + s));
            await().atMost(WAIT).until(() -> ofSubjects(a, ours).size() + ofSubjects(b, ours).size() >= subjects * versions);
            assertThat(ofSubjects(a, ours)).as("both consumers take a share").isNotEmpty();
            assertThat(ofSubjects(b, ours)).as("both consumers take a share").isNotEmpty();
            Map<String, List<Integer>> seenA = versionsBySubject(ofSubjects(a, ours));
            Map<String, List<Integer>> seenB = versionsBySubject(ofSubjects(b, ours));
            assertThat(seenA.keySet()).as("a subject goes to one consumer only").doesNotContainAnyElementsOf(seenB.keySet());
            List<Integer> inOrder = java.util.stream.IntStream.rangeClosed(1, versions).boxed().toList();
            seenA.forEach((subject, seen) -> assertThat(seen).as("subject " + subject).isEqualTo(inOrder));
            seenB.forEach((subject, seen) -> assertThat(seen).as("subject " + subject).isEqualTo(inOrder));
        }
    }

    private static List<RabbitConsumer.Received> ofSubjects(RabbitConsumer c, Set<String> subjects) {
        return c.received.stream().filter(m -> subjects.contains(m.header("ce_subject"))).toList();
    }

    private static Map<String, List<Integer>> versionsBySubject(List<RabbitConsumer.Received> messages) {
        Map<String, List<Integer>> seen = new LinkedHashMap<>();
        for (RabbitConsumer.Received m : messages) {
            seen.computeIfAbsent(m.header("ce_subject"), k -> new ArrayList<>()).add(json(m.body()).at("/data/after/version").asInt());
        }
        return seen;
    }

    @Test
    void whatTheBrokerRefusesForGoodIsDeadLetteredWithItsReasonAndTheStreamMovesOn() throws Exception {
        int id = IDS.incrementAndGet();
        try (RabbitConsumer jobs = RabbitConsumer.on(url(), "pgrouter.orders", "topic", "jobs-" + id, false, "test.rabbit_orders.#", null)
                .consume("jobs-" + id)) {
            Sql.exec("INSERT INTO test.rabbit_unrouted (id) VALUES (" + id + ")");
            Sql.exec("INSERT INTO test.rabbit_orders (id, status, note) VALUES (" + id + ", 'huge', repeat('x', " + (RabbitMqResource.MAX_MESSAGE_BYTES + 1000)
                    + "))");
            Sql.exec("INSERT INTO test.rabbit_lost (id) VALUES (" + id + ")");
            Sql.exec("INSERT INTO test.rabbit_orders (id, status) VALUES (" + (id + 1) + ", 'small')");
            IDS.incrementAndGet();
            await().atMost(WAIT).until(() -> mine(jobs, id + 1).size() == 1);
            await().atMost(WAIT).until(() -> Sql.count("SELECT count(*) FROM pgrouter.dead_letters WHERE sink = 'rabbitmq-sink' AND event->>'subject' = '"
                    + id + "'") == 3);
            assertThat(deadLetterError("wal-rabbit-orders-to-rabbitmq", "rabbit_unrouted", id))
                    .contains("no queue bound to exchange 'pgrouter.orders' for routing key 'test.rabbit_unrouted.insert'", "312 NO_ROUTE");
            assertThat(deadLetterError("wal-rabbit-orders-to-rabbitmq", "rabbit_orders", id))
                    .contains("larger than the broker's max_message_size " + RabbitMqResource.MAX_MESSAGE_BYTES);
            assertThat(deadLetterError("wal-rabbit-lost-to-rabbitmq", "rabbit_lost", id))
                    .contains("exchange 'pgrouter.missing' does not exist", "404");
            assertThat(mine(jobs, id)).as("the oversized order never reached the queue").isEmpty();
        }
    }

    private static String deadLetterError(String route, String table, int id) throws Exception {
        try (Connection c = TestServers.db.connect(); Statement s = c.createStatement();
                var rs = s.executeQuery("SELECT error || ' | ' || coalesce(last_status::text, '') || ' ' || coalesce(response_excerpt, '') "
                        + "FROM pgrouter.dead_letters WHERE route_id = '" + route + "' AND event->>'pgtable' = '" + table + "' AND event->>'subject' = '" + id
                        + "'")) {
            assertThat(rs.next()).as("dead letter of " + table + " " + id + " among " + Sql.count("SELECT count(*) FROM pgrouter.dead_letters") + ": "
                    + text("SELECT string_agg(route_id || ' ' || (event->>'pgtable') || ' ' || (event->>'subject') || ' ' || error, E'\\n') FROM pgrouter.dead_letters")).isTrue();
            return rs.getString(1);
        }
    }

    /**
     * A broker whose disk is low raises an alarm and stops reading what publishers send (connection.blocked), with no
     * time limit: the sink stops publishing on that notice, the events wait in the retry store, the stream moves on, and
     * once the alarm clears every event arrives. The alarm is raised as a filling disk would: the free-disk limit is set
     * above what the disk has.
     */
    @Test
    void aBrokerThatBlocksPublishersHoldsOnlyItsOwnEvents() throws Exception {
        int first = IDS.addAndGet(300) - 299;
        int rows = 200;
        try (RabbitConsumer jobs = RabbitConsumer.on(url(), "pgrouter.orders", "topic", "blocked-" + first, false, "test.rabbit_orders.#", null)
                .consume("blocked-" + first)) {
            RabbitMqResource.broker.ctl("set_disk_free_limit", "999999999999999");
            try {
                // ~10 KB of hex per row (TOASTed), four transactions
                for (int tx = 0; tx < 4; tx++) {
                    int from = first + tx * rows / 4;
                    Sql.exec("INSERT INTO test.rabbit_orders (id, status, note) SELECT g, 'blocked', (SELECT string_agg(md5(random()::text || g || i), '') "
                            + "FROM generate_series(1, 320) i) FROM generate_series(" + from + ", " + (from + rows / 4 - 1) + ") g");
                }
                await().atMost(WAIT).until(() -> Sql.waiting("wal-rabbit-orders-to-rabbitmq") > 0);
                String walNow = text("SELECT pg_current_wal_lsn()::text");
                await().atMost(WAIT).until(() -> Sql.count("SELECT count(*) FROM pg_replication_slots WHERE confirmed_flush_lsn >= '" + walNow + "'::pg_lsn") > 0);
            } finally {
                RabbitMqResource.broker.ctl("set_disk_free_limit", "50000000");
            }
            java.util.function.Supplier<List<RabbitConsumer.Received>> mine = () -> jobs.received.stream().filter(m -> {
                int subject = Integer.parseInt(m.header("ce_subject"));
                return subject >= first && subject < first + rows;
            }).toList();
            await().atMost(Duration.ofSeconds(90)).until(() -> mine.get().stream().map(m -> m.header("ce_subject")).distinct().count() == rows);
            assertThat(mine.get()).allSatisfy(m -> assertThat(json(m.body()).at("/data/after/note").asText()).hasSize(320 * 32));
            await().atMost(WAIT).until(() -> Sql.waiting("wal-rabbit-orders-to-rabbitmq") == 0);
        }
    }

    /**
     * The broker is stopped for 30 s while rows keep being committed (20 transactions/s), then started again: every
     * change arrives, duplicates only with the same message id, each subject's first deliveries in commit order and its
     * last message its newest version; during the outage the stream moves on (the slot's position passes the commits).
     */
    @Test
    void brokerStoppedForThirtySecondsUnderLoadThenRestartedLosesNothing() throws Exception {
        try (RabbitConsumer setup = RabbitConsumer.on(url(), "pgrouter.outage", "fanout", "outage-jobs", true, "", null)) {
            // declared durable before the outage: the queue and its persistent messages survive the broker's restart
        }
        int subjects = 20;
        Map<Integer, Integer> version = new HashMap<>();
        AtomicInteger commits = new AtomicInteger();
        AtomicBoolean writing = new AtomicBoolean(true);
        Thread writer = new Thread(() -> {
            int n = 0;
            while (writing.get()) {
                int subject = n % subjects;
                int v = version.merge(subject, 1, Integer::sum);
                Sql.exec(v == 1 ? "INSERT INTO test.rabbit_outage (id, version) VALUES (" + subject + ", 1)"
                        : "UPDATE test.rabbit_outage SET version = " + v + " WHERE id = " + subject);
                commits.incrementAndGet();
                n++;
                try {
                    Thread.sleep(50);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "outage-writer");
        writer.start();
        try {
            await().atMost(WAIT).until(() -> commits.get() >= 40);
            RabbitMqResource.broker.stop();
            long stoppedAt = System.nanoTime();
            // while the broker is down the events wait in the retry store and the slot's confirmed position moves on
            await().atMost(WAIT).until(() -> Sql.count("SELECT count(*) FROM pgrouter.retries WHERE sink_key LIKE 'rabbitmq-sink:%'") > 0);
            String walNow = text("SELECT pg_current_wal_lsn()::text");
            await().atMost(WAIT).until(() -> Sql.count("SELECT count(*) FROM pg_replication_slots WHERE confirmed_flush_lsn >= '" + walNow + "'::pg_lsn") > 0);
            long left = Duration.ofSeconds(30).toNanos() - (System.nanoTime() - stoppedAt);
            if (left > 0) Thread.sleep(left / 1_000_000); // the outage lasts 30 s: a duration of the scenario, not a wait for a fact
            RabbitMqResource.broker.start();
            int before = commits.get();
            await().atMost(WAIT).until(() -> commits.get() >= before + 40);
        } finally {
            writing.set(false);
            writer.join();
        }
        int committed = commits.get();
        try (RabbitConsumer jobs = RabbitConsumer.on(url(), "pgrouter.outage", "fanout", "outage-jobs", true, "", null).consume("outage-jobs")) {
            await().atMost(Duration.ofSeconds(60)).until(() -> jobs.received.stream().map(m -> m.properties().getMessageId()).distinct().count() >= committed);
            Map<String, Set<String>> bodiesById = jobs.received.stream().collect(Collectors.groupingBy(m -> m.properties().getMessageId(),
                    Collectors.mapping(RabbitConsumer.Received::body, Collectors.toSet())));
            assertThat(bodiesById).hasSize(committed);
            bodiesById.forEach((messageId, bodies) -> assertThat(bodies).as("copies of " + messageId).hasSize(1));
            Map<String, List<Integer>> firstSeen = new LinkedHashMap<>();
            Map<String, Integer> lastSeen = new HashMap<>();
            Set<String> ids = new java.util.HashSet<>();
            for (RabbitConsumer.Received m : jobs.received) {
                int v = json(m.body()).at("/data/after/version").asInt();
                lastSeen.put(m.header("ce_subject"), v);
                if (ids.add(m.properties().getMessageId())) firstSeen.computeIfAbsent(m.header("ce_subject"), k -> new ArrayList<>()).add(v);
            }
            firstSeen.forEach((subject, seen) -> assertThat(seen).as("subject " + subject).isSorted());
            version.forEach((subject, v) -> assertThat(lastSeen.get(String.valueOf(subject))).as("last message of subject " + subject).isEqualTo(v));
        }
    }

    private static String text(String query) throws Exception {
        try (Connection c = TestServers.db.connect(); Statement s = c.createStatement(); var rs = s.executeQuery(query)) {
            rs.next();
            return rs.getString(1);
        }
    }
}
