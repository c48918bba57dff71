package io.pgrouter.packaged;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.standardwebhooks.Webhook;

import io.pgrouter.testing.Sql;
import io.pgrouter.testing.TestServers;

/**
 * bin/pgrouter routes test as a user's CI runs it: the shipped routes and examples (plus JMS, Kafka and a signed webhook
 * route of the test's own) on recorded events, compared with the golden reports under src/test/resources/routes-test.
 * After an intended change of a route or a sink: run {@code bin/pgrouter routes test ... --update} (the command in
 * {@link #golden()}), review the diff of the golden files, commit them.
 */
class RoutesTestIT {

    @RegisterExtension
    static final TestServers servers = new TestServers();
    static final Path FIXTURES = Path.of("src/test/resources/routes-test");
    static final Path EXPECTED = FIXTURES.resolve("expected");
    /** Standard Webhooks' sample secret: the golden signatures depend on it. */
    static final String SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    static final List<String> SHIPPED = List.of("routes/wal-products-to-webhook.yaml", "examples/marketplace/wal-products-to-datalake.yaml",
            "examples/marketplace/wal-products-to-search.yaml", "examples/marketplace/wal-products-to-category-subscribers.yaml",
            "examples/migration-flood/wal-products-to-rabbitmq.yaml");

    static Path routes;
    static Result golden;

    record Result(int code, String output) {
    }

    @BeforeAll
    static void start() throws Exception {
        // the email sink's recipients query reads them
        Sql.exec("INSERT INTO marketplace.subscriptions (buyer_email, category) VALUES ('reader@example.com', 'books'), "
                + "('collector@example.com', 'books') ON CONFLICT DO NOTHING");
        routes = Files.createTempDirectory("routes-test");
        for (String shipped : SHIPPED) Files.copy(Path.of(shipped), routes.resolve(Path.of(shipped).getFileName()));
        try (var own = Files.list(FIXTURES.resolve("routes"))) {
            for (Path p : own.toList()) Files.copy(p, routes.resolve(p.getFileName()));
        }
        golden = golden();
    }

    /** The golden run; with PGROUTER_TEST_UPDATE=1 it first writes the golden files (review their diff before committing). */
    static Result golden() throws Exception {
        List<String> command = List.of("bin/pgrouter", "routes", "test", "--events", FIXTURES.resolve("events.jsonl").toString(), "--routes",
                routes.toString(), "--expect", EXPECTED.toString());
        if ("1".equals(System.getenv("PGROUTER_TEST_UPDATE"))) {
            List<String> update = new java.util.ArrayList<>(command);
            update.add("--update");
            Result updated = run(Path.of("."), update);
            assertThat(updated.code()).as(updated.output()).isZero();
        }
        return run(Path.of("."), command);
    }

    static Result run(Path workingFolder, List<String> command) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(command).directory(workingFolder.toFile()).redirectErrorStream(true);
        pb.environment().put("PGROUTER_POSTGRES_URL", TestServers.db.jdbcUrl());
        pb.environment().put("PGROUTER_POSTGRES_PASSWORD", TestServers.db.password());
        pb.environment().put("PGROUTER_SINKS_WEBHOOK_URL", "https://storefront.example.com/cache/refresh");
        pb.environment().put("PGROUTER_SINKS_WEBHOOK_SECRET", SECRET);
        pb.environment().put("PGROUTER_SINKS_LAKE_ROOT", "s3://lake/raw");
        pb.environment().put("PGROUTER_SINKS_SEARCH_URLS", "https://search.example.com:9200");
        pb.environment().put("PGROUTER_SINKS_SEARCH_USERNAME", "pgrouter");
        pb.environment().put("PGROUTER_SINKS_SEARCH_PASSWORD", "not-in-the-report");
        pb.environment().put("PGROUTER_SINKS_EMAIL_HOST", "smtp.example.com");
        pb.environment().put("PGROUTER_SINKS_EMAIL_FROM", "Marketplace <news@example.com>");
        pb.environment().put("PGROUTER_SINKS_RABBITMQ_URL", "amqp://rabbit.example.com:5672/%2f");
        pb.environment().put("PGROUTER_SINKS_JMS_URL", "tcp://artemis.example.com:61616");
        pb.environment().put("PGROUTER_SINKS_KAFKA_BROKERS", "kafka.example.com:9092");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(180, TimeUnit.SECONDS)).isTrue();
        return new Result(p.exitValue(), out);
    }

    static String report(String file) throws Exception {
        return Files.readString(EXPECTED.resolve(file), StandardCharsets.UTF_8);
    }

    /** The first row of a lake report (a JSON object on a line of its own). */
    static JsonNode firstRow(String report) throws Exception {
        return new ObjectMapper().readTree(report.lines().filter(l -> l.startsWith("{")).findFirst().orElseThrow());
    }

    /** The golden run matched every golden file, and this sink's among them. */
    static void matched(String file) {
        assertThat(golden.code()).as(golden.output()).isZero();
        assertThat(golden.output()).doesNotContain(file).contains("the same as " + EXPECTED);
        assertThat(EXPECTED.resolve(file)).isRegularFile();
    }

    @Test
    void webhookRequestsAreSignedWithTheConfiguredSecret() throws Exception {
        matched("wal-products-to-signed-webhook/webhook-sink.txt");
        String report = report("wal-products-to-signed-webhook/webhook-sink.txt");
        String request = report.substring(report.indexOf("POST "), report.indexOf("\n=== ", report.indexOf("POST ")) < 0 ? report.length()
                : report.indexOf("\n=== ", report.indexOf("POST ")));
        String id = header(request, "webhook-id");
        long timestamp = Long.parseLong(header(request, "webhook-timestamp"));
        String body = request.substring(request.indexOf("\n\n") + 2).strip();
        assertThat(header(request, "webhook-signature")).isEqualTo(new Webhook(SECRET).sign(id, timestamp, body));
        assertThat(request).startsWith("POST https://storefront.example.com/cache/refresh\n").contains("ce-type: postgres.row.update");
        // binary mode: the body is the event's data
        assertThat(new ObjectMapper().readTree(body).has("after")).isTrue();
        // the update that touched only updated_at is dropped by the shipped webhook route, at its stop step
        matched("wal-products-to-webhook/filtered.txt");
        assertThat(report("wal-products-to-webhook/filtered.txt")).containsPattern("dropped after step stop .*\\(wal-products-to-webhook\\.yaml:\\d+\\)");
    }

    @Test
    void jmsMessagesNameTheirDestinationAndProperties() throws Exception {
        matched("wal-products-to-jms/jms-sink.txt");
        assertThat(report("wal-products-to-jms/jms-sink.txt")).contains("destination: ActiveMQQueue[marketplace.products]")
                .contains("delivery mode: persistent").contains("property JMSXGroupID: ").contains("property ce_type: postgres.row.insert");
    }

    @Test
    void kafkaRecordsHaveTheirTopicAndKey() throws Exception {
        matched("wal-products-to-kafka/kafka-sink.txt");
        assertThat(report("wal-products-to-kafka/kafka-sink.txt")).contains("topic: pg.marketplace.products").containsPattern("key: \\d+")
                .contains("header ce_type: postgres.row.delete").doesNotContain("postgres.row.update");
    }

    @Test
    void rabbitMqMessagesHaveTheirExchangeAndRoutingKey() throws Exception {
        matched("wal-products-to-rabbitmq/rabbitmq-sink.txt");
        assertThat(report("wal-products-to-rabbitmq/rabbitmq-sink.txt")).contains("exchange: pgrouter")
                .contains("routing key: marketplace.products.insert").contains("delivery-mode: 2");
    }

    @Test
    void searchGetsItsBulkActionsAndDocuments() throws Exception {
        matched("wal-products-to-search/search-index-sink.txt");
        String report = report("wal-products-to-search/search-index-sink.txt");
        assertThat(report).contains("POST https://search.example.com:9200/_bulk").contains("\"_index\":\"marketplace-products\"")
                .contains("\"version_type\":\"external\"").contains("{\"delete\":").contains("Authorization: Basic ***")
                .doesNotContain("not-in-the-report").doesNotContain("seller_id");
    }

    @Test
    void theLakeGetsItsPartitionAndRows() throws Exception {
        matched("wal-products-to-datalake/datalake-sink.txt");
        String report = report("wal-products-to-datalake/datalake-sink.txt");
        assertThat(report).containsPattern("file: s3://lake/raw/marketplace\\.products/dt=\\d{4}-\\d\\d-\\d\\d/hour=\\d\\d/part-\\*\\.jsonl");
        JsonNode row = firstRow(report);
        assertThat(row.has("_event_id")).isTrue();
        assertThat(row.has("title")).isTrue();
    }

    @Test
    void parquetLakeFilesShowTheirRowsReadBack() throws Exception {
        matched("wal-products-to-parquet/datalake-sink.txt");
        String report = report("wal-products-to-parquet/datalake-sink.txt");
        assertThat(report).containsPattern("file: s3://lake/raw/parquet/marketplace\\.products/dt=\\d{4}-\\d\\d-\\d\\d/hour=\\d\\d/part-\\*\\.parquet");
        // the row as the file holds it: the typed columns the table's catalogue gave the Parquet schema
        JsonNode row = firstRow(report);
        assertThat(row.get("_op").asText()).isEqualTo("insert");
        assertThat(row.get("id").asLong()).isEqualTo(1);
        assertThat(row.get("title").asText()).isEqualTo("Dune");
        assertThat(row.get("price").isNumber()).as(row.toString()).isTrue();
    }

    @Test
    void emailsGoToEachSubscriberOfTheCategory() throws Exception {
        matched("wal-products-to-category-subscribers/email-sink.txt");
        String report = report("wal-products-to-category-subscribers/email-sink.txt");
        assertThat(report).contains("SMTP to reader@example.com").contains("SMTP to collector@example.com").contains("Subject: New in books: ")
                .doesNotContain("\nDate: ");
    }

    @Test
    void aChangedRouteFailsWithADiff() throws Exception {
        Path changed = Files.createTempDirectory("routes-changed");
        try (var files = Files.list(routes)) {
            for (Path p : files.toList()) Files.copy(p, changed.resolve(p.getFileName()), StandardCopyOption.REPLACE_EXISTING);
        }
        // the rabbitmq route sends under another routing key
        Path rabbit = changed.resolve("wal-products-to-rabbitmq.yaml");
        Files.writeString(rabbit, Files.readString(rabbit).replace("routingKey: \"${schema}.${table}.${op}\"", "routingKey: \"products.${op}\""));
        Result r = run(Path.of("."), List.of("bin/pgrouter", "routes", "test", "--events", FIXTURES.resolve("events.jsonl").toString(), "--routes",
                changed.toString(), "--expect", EXPECTED.toString()));
        System.out.println("[routes-test] a changed route:\n" + r.output());
        assertThat(r.code()).as(r.output()).isEqualTo(1);
        assertThat(r.output()).contains("--- " + EXPECTED.resolve("wal-products-to-rabbitmq/rabbitmq-sink.txt"))
                .contains("-routing key: marketplace.products.insert").contains("+routing key: products.insert")
                .contains("1 of ").contains("differ from " + EXPECTED);
    }

    /** The loop a user runs, from a folder of their own outside the repository: record, test and keep, test again, change. */
    @Test
    void recordThenTestThenExpect() throws Exception {
        Path work = Files.createTempDirectory("user-project");
        Path pgrouter = Path.of("bin/pgrouter").toAbsolutePath();
        Files.createDirectories(work.resolve("routes"));
        Files.copy(Path.of("routes/wal-products-to-lake.yaml"), work.resolve("routes/wal-products-to-lake.yaml"));
        Sql.exec("INSERT INTO marketplace.products (seller_id, category, title, price) VALUES (2, 'garden', 'Loop planter', 30.00), "
                + "(2, 'garden', 'Loop hose', 12.00), (1, 'books', 'Loop poems', 7.00)");

        Result recorded = run(work, List.of(pgrouter.toString(), "events", "record", "--tables", "marketplace.products", "--snapshot", "--limit", "2",
                "--out", "events.jsonl"));
        System.out.println("[routes-test] " + String.join(" ", recorded.output().lines().filter(l -> !l.contains("LogManager")).toList()));
        assertThat(recorded.code()).as(recorded.output()).isZero();
        assertThat(Files.readAllLines(work.resolve("events.jsonl"))).hasSize(2);

        List<String> test = List.of(pgrouter.toString(), "routes", "test", "--events", "events.jsonl", "--routes", "routes", "--expect", "expected");
        List<String> update = new java.util.ArrayList<>(test);
        update.add("--update");
        Result written = run(work, update);
        assertThat(written.code()).as(written.output()).isZero();
        assertThat(written.output()).contains("wrote 1 report file(s) to expected");
        assertThat(Files.readString(work.resolve("expected/wal-products-to-lake/datalake-sink.txt")))
                .contains("file: s3://lake/raw/marketplace.products/dt=").contains("\"_op\":\"snapshot\"");

        Result same = run(work, test);
        assertThat(same.code()).as(same.output()).isZero();
        assertThat(same.output()).contains("1 report file(s), the same as expected");

        Path route = work.resolve("routes/wal-products-to-lake.yaml");
        Files.writeString(route, Files.readString(route).replace("target={{pgrouter.sinks.lake.root}}", "target=s3://other/raw"));
        Result differs = run(work, test);
        assertThat(differs.code()).as(differs.output()).isEqualTo(1);
        assertThat(differs.output()).contains("-file: s3://lake/raw/marketplace.products/").contains("+file: s3://other/raw/marketplace.products/");
    }

    private static String header(String request, String name) {
        return request.lines().filter(l -> l.startsWith(name + ": ")).findFirst().orElseThrow().substring(name.length() + 2);
    }
}
