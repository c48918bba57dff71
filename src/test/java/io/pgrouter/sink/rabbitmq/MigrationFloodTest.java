package io.pgrouter.sink.rabbitmq;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import org.junit.jupiter.api.Test;

import io.pgrouter.testing.RabbitConsumer;
import io.pgrouter.testing.RabbitMqProfile;
import io.pgrouter.testing.RabbitMqResource;
import io.pgrouter.testing.Sql;
import io.pgrouter.testing.TestServers;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;

/**
 * The example route {@code examples/migration-flood/wal-products-to-rabbitmq.yaml} against real PostgreSQL and
 * RabbitMQ: a transaction marked with {@code pgrouter.skip} and an update of only {@code updated_at} never reach the
 * queue; other changes do; the 1-in-16 sample holds exactly the products whose key hashes into it.
 */
@QuarkusTest
@TestProfile(RabbitMqProfile.class)
@QuarkusTestResource(value = TestServers.class, restrictToAnnotatedClass = false)
class MigrationFloodTest {

    private static final Duration WAIT = Duration.ofSeconds(30);

    private static RabbitConsumer jobs(String queue, String bindingKey) throws Exception {
        return RabbitConsumer.on(RabbitMqResource.broker.url(), "pgrouter", "topic", queue, false, bindingKey, null).consume(queue);
    }

    private static List<Long> newProducts(int n) throws Exception {
        List<Long> ids = new ArrayList<>();
        try (Connection c = TestServers.db.connect(); Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("INSERT INTO marketplace.products (seller_id, category, title, price) "
                        + "SELECT (SELECT min(id) FROM marketplace.sellers), (SELECT min(slug) FROM marketplace.categories), 'flood ' || g, 10 "
                        + "FROM generate_series(1, " + n + ") g RETURNING id")) {
            while (rs.next()) ids.add(rs.getLong(1));
        }
        return ids;
    }

    private static List<String> updatesOf(RabbitConsumer c, long id) {
        return c.received.stream().filter(m -> String.valueOf(id).equals(m.header("ce_subject")) && "update".equals(m.header("ce_pgop")))
                .map(m -> m.body()).toList();
    }

    @Test
    void aTransactionMarkedPgrouterSkipNeverReachesTheQueue() throws Exception {
        try (RabbitConsumer jobs = jobs("flood-skip", "marketplace.products.*")) {
            List<Long> ids = newProducts(3);
            String in = ids.toString().replace('[', '(').replace(']', ')');
            try (Connection c = TestServers.db.connect(); Statement s = c.createStatement()) {
                c.setAutoCommit(false);
                s.execute("SELECT pg_logical_emit_message(true, 'pgrouter.skip', 'migration 42')");
                s.execute("UPDATE marketplace.products SET price = price + 1 WHERE id IN " + in);
                c.commit();
            }
            // a later ordinary transaction: once it arrived, the marked one was routed before it (commit order)
            Sql.exec("UPDATE marketplace.products SET price = price + 2 WHERE id = " + ids.get(0));
            await().atMost(WAIT).until(() -> !updatesOf(jobs, ids.get(0)).isEmpty());
            assertThat(updatesOf(jobs, ids.get(0))).hasSize(1).allSatisfy(body -> assertThat(body).contains("\"price\":13.00"));
            assertThat(updatesOf(jobs, ids.get(1))).isEmpty();
            assertThat(updatesOf(jobs, ids.get(2))).isEmpty();
        }
    }

    @Test
    void anUpdateOfOnlyUpdatedAtIsDroppedAndARealChangeIsNot() throws Exception {
        try (RabbitConsumer jobs = jobs("flood-touch", "marketplace.products.update")) {
            long id = newProducts(1).get(0);
            Sql.exec("UPDATE marketplace.products SET updated_at = now() + interval '1 minute' WHERE id = " + id);
            Sql.exec("UPDATE marketplace.products SET title = 'renamed', updated_at = now() + interval '2 minutes' WHERE id = " + id);
            await().atMost(WAIT).until(() -> !updatesOf(jobs, id).isEmpty());
            assertThat(updatesOf(jobs, id)).hasSize(1).allSatisfy(body -> assertThat(body).contains("\"changed\":[\"title\",\"updated_at\"]"));
        }
    }

    private static Set<String> sampled(RabbitConsumer sample, Set<String> ours) {
        return new TreeSet<>(sample.received.stream().map(m -> m.header("ce_subject")).filter(ours::contains).toList());
    }

    @Test
    void theSampleHoldsTheProductsWhoseKeyHashesIntoIt() throws Exception {
        try (RabbitConsumer sample = jobs("flood-sample", "sample.marketplace.products"); RabbitConsumer all = jobs("flood-all", "marketplace.products.insert")) {
            List<Long> ids = newProducts(64);
            Set<String> expected = new TreeSet<>();
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            for (long id : ids) {
                if (HexFormat.of().formatHex(sha.digest(String.valueOf(id).getBytes(StandardCharsets.UTF_8))).startsWith("0")) expected.add(String.valueOf(id));
            }
            Set<String> ours = new TreeSet<>(ids.stream().map(String::valueOf).toList());
            await().atMost(WAIT).until(() -> all.received.stream().filter(m -> ours.contains(m.header("ce_subject"))).count() == ids.size());
            // the sample is a second publish of the same events: it may land a moment after the main queue's
            await().atMost(WAIT).until(() -> sampled(sample, ours).size() >= expected.size());
            assertThat(sampled(sample, ours)).isEqualTo(expected);
        }
    }
}
