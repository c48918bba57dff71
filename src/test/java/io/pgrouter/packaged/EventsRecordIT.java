package io.pgrouter.packaged;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.pgrouter.testing.Sql;
import io.pgrouter.testing.TestServers;

/** bin/pgrouter events record as a user runs it against a PostgreSQL with password authentication. */
class EventsRecordIT {

    @RegisterExtension
    static final TestServers servers = new TestServers();
    static final ObjectMapper JSON = new ObjectMapper();


    static ProcessBuilder pgrouter(String... args) {
        List<String> command = new java.util.ArrayList<>(List.of("bin/pgrouter"));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().put("PGROUTER_POSTGRES_URL", TestServers.db.jdbcUrl());
        pb.environment().put("PGROUTER_POSTGRES_PASSWORD", TestServers.db.password());
        return pb;
    }

    static List<JsonNode> events(Path file) throws Exception {
        List<JsonNode> events = new java.util.ArrayList<>();
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) events.add(JSON.readTree(line));
        return events;
    }

    /** Starts a recording of a window and returns once its slot streams (changes committed from then on are recorded). */
    static Process streaming(String... args) throws Exception {
        Process p = pgrouter(args).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        await().atMost(Duration.ofSeconds(60)).until(() -> Sql.count(
                "SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'pgrouter_record_%' AND active") == 1);
        return p;
    }

    static long recordingSlots() {
        return Sql.count("SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'pgrouter_record_%'");
    }

    static long recordingPublications() {
        return Sql.count("SELECT count(*) FROM pg_publication WHERE pubname LIKE 'pgrouter_record_%'");
    }

    @Test
    void snapshotWritesTheCurrentRowsWithMaskedColumnsAndLeavesNoSlot() throws Exception {
        Sql.exec("INSERT INTO marketplace.products (seller_id, category, title, description, price) VALUES "
                + "(1, 'books', 'Snap one', 'secret text', 10.00), (1, 'books', 'Snap two', 'secret text', 20.50)");
        Path out = Files.createTempFile("snapshot", ".jsonl");
        Process p = pgrouter("events", "record", "--tables", "marketplace.products", "--snapshot", "--mask", "description", "--out", out.toString())
                .redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(log).isZero();

        List<JsonNode> events = events(out);
        long rows = Sql.count("SELECT count(*) FROM marketplace.products");
        assertThat(events).hasSize((int) rows);
        assertThat(events).allSatisfy(e -> {
            assertThat(e.path("type").asText()).isEqualTo("postgres.row.snapshot");
            assertThat(e.path("source").asText()).isEqualTo("/postgres/" + TestServers.db.jdbcUrl().replaceAll(".*/", "") + "/marketplace.products");
        });
        List<JsonNode> mine = events.stream().filter(e -> e.path("data").path("after").path("title").asText().startsWith("Snap ")).toList();
        assertThat(mine).hasSize(2);
        String one = mine.get(0).path("data").path("after").path("description").asText();
        // masked, and the same hash for the same value
        assertThat(one).startsWith("masked:").doesNotContain("secret");
        assertThat(mine.get(1).path("data").path("after").path("description").asText()).isEqualTo(one);
        // other columns exactly as the router encodes them: numeric as a JSON number
        assertThat(mine.get(1).path("data").path("after").path("price").decimalValue()).isEqualByComparingTo("20.50");
        assertThat(log).contains("recorded " + rows + " event(s)");
        assertThat(recordingSlots()).isZero();
        assertThat(recordingPublications()).isZero();
    }

    @Test
    void aWindowRecordsTheChangesCommittedWhileItRunsUpToTheLimit() throws Exception {
        Path out = Files.createTempFile("window", ".jsonl");
        Process p = streaming("events", "record", "--tables", "marketplace.products", "--for", "2m", "--limit", "3", "--out", out.toString());
        long id = Long.parseLong(Sql.text("INSERT INTO marketplace.products (seller_id, category, title, price) VALUES (1, 'games', 'Window', 5.00) RETURNING id"));
        Sql.exec("UPDATE marketplace.products SET price = 6.00 WHERE id = " + id, "DELETE FROM marketplace.products WHERE id = " + id);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("stops at --limit 3").isTrue();
        assertThat(p.exitValue()).isZero();

        List<JsonNode> events = events(out);
        assertThat(events).extracting(e -> e.path("type").asText())
                .containsExactly("postgres.row.insert", "postgres.row.update", "postgres.row.delete");
        assertThat(events).allSatisfy(e -> assertThat(e.path("subject").asText()).isEqualTo(Long.toString(id)));
        assertThat(events.get(1).path("data").path("changed")).extracting(JsonNode::asText).containsExactly("price");
        await().atMost(Duration.ofSeconds(10)).until(() -> recordingSlots() == 0);
        assertThat(recordingPublications()).isZero();
    }

    @Test
    void messagesAreRecordedByTheirPrefix() throws Exception {
        Path out = Files.createTempFile("messages", ".jsonl");
        Process p = streaming("events", "record", "--messages", "orders", "--for", "2m", "--limit", "1", "--out", out.toString());
        Sql.exec("SELECT pg_logical_emit_message(true, 'audit', '{\"n\": 1}')", "SELECT pg_logical_emit_message(true, 'orders', '{\"order\": 42}')");
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("stops at --limit 1").isTrue();
        assertThat(p.exitValue()).isZero();

        List<JsonNode> events = events(out);
        assertThat(events).hasSize(1);
        assertThat(events.get(0).path("type").asText()).isEqualTo("postgres.message");
        assertThat(events.get(0).path("pgchannel").asText()).isEqualTo("orders");
        assertThat(events.get(0).path("data").path("order").asInt()).isEqualTo(42);
        await().atMost(Duration.ofSeconds(10)).until(() -> recordingSlots() == 0);
        assertThat(recordingPublications()).isZero();
    }

    @Test
    void notificationsAreRecordedFromTheirChannels() throws Exception {
        Path out = Files.createTempFile("notify", ".jsonl");
        Process p = pgrouter("events", "record", "--channels", "subscriptions", "--for", "2m", "--limit", "1", "--out", out.toString())
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        // NOTIFY reaches only who listens already: notify until the recording has taken one and stopped
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).until(() -> {
            Sql.exec("NOTIFY other, '{\"skip\": true}'", "NOTIFY subscriptions, '{\"buyer\": \"ann@example.com\"}'");
            return !p.isAlive();
        });
        assertThat(p.exitValue()).isZero();
        List<JsonNode> events = events(out);
        assertThat(events).hasSize(1);
        assertThat(events.get(0).path("type").asText()).isEqualTo("postgres.notify");
        assertThat(events.get(0).path("pgchannel").asText()).isEqualTo("subscriptions");
        assertThat(events.get(0).path("data").path("buyer").asText()).isEqualTo("ann@example.com");
        assertThat(recordingSlots()).isZero();
    }

    @Test
    void ctrlCDropsTheSlot() throws Exception {
        Path out = Files.createTempFile("interrupted", ".jsonl");
        Process p = streaming("events", "record", "--tables", "marketplace.products", "--for", "10m", "--out", out.toString());
        // what Ctrl-C in a terminal sends
        new ProcessBuilder("kill", "-INT", Long.toString(p.pid())).start().waitFor();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(recordingSlots()).isZero();
        assertThat(recordingPublications()).isZero();
    }

    @Test
    void aKeyColumnCannotBeMasked() throws Exception {
        Process p = pgrouter("events", "record", "--tables", "marketplace.products", "--snapshot", "--mask", "id").redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).isEqualTo(1);
        assertThat(log).contains("--mask id").contains("primary key of marketplace.products").doesNotContainPattern("(?m)^\\s+at ");
    }
}
