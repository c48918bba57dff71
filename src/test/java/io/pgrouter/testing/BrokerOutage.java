package io.pgrouter.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The fault test for a message broker, shared by the JMS and Kafka sink tests: rows of {@code table} (id,
 * version) change at 25 tx/s for 40 s while the broker is stopped for 30 s and started again; then every change must
 * have arrived, the first delivery of each in commit order per subject, a repeat with the same ce_id.
 */
public final class BrokerOutage {

    public static final int SUBJECTS = 300;
    public static final int CHANGES = 1000;

    /** One message a consumer got: the row's id (subject), its version and the message's ce_id. */
    public record Delivered(String subject, int version, String ceId) {
        public String change() {
            return subject + "/" + version;
        }
    }

    public interface Action {
        void run() throws Exception;
    }

    private BrokerOutage() {
    }

    /**
     * Writes the changes while {@code stop} and, 30 s later, {@code start} run; checks that the stream moved on
     * meanwhile (events piled up in the retry store for {@code routeId}). Returns each row's final version.
     */
    public static Map<Integer, Integer> run(String table, String routeId, Action stop, Action start) throws Exception {
        Thread writer = new Thread(() -> {
            try (var c = TestServers.db.connect(); var s = c.createStatement()) {
                long t0 = System.nanoTime();
                for (int i = 0; i < CHANGES; i++) {
                    long due = t0 + i * 40_000_000L; // 25 tx/s for 40 s
                    long wait = due - System.nanoTime();
                    if (wait > 0) Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
                    int id = i % SUBJECTS + 1;
                    s.execute(i < SUBJECTS ? "INSERT INTO " + table + " (id) VALUES (" + id + ")"
                            : "UPDATE " + table + " SET version = version + 1 WHERE id = " + id);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (java.sql.SQLException e) {
                throw new IllegalStateException(e);
            }
        }, "test-writer");
        writer.start();
        Thread.sleep(5_000); // the outage starts under load, not before it
        stop.run();
        long stopped = System.nanoTime();
        try {
            // while the broker is down the stream moves on: events pile up in the retry store instead of blocking the source
            await().atMost(Duration.ofSeconds(25)).until(() -> Sql.count("SELECT count(*) FROM pgrouter.retries WHERE route_id = '" + routeId + "'") > 100);
            Thread.sleep(Math.max(0, 30_000 - (System.nanoTime() - stopped) / 1_000_000));
        } finally {
            start.run();
        }
        writer.join();

        Map<Integer, Integer> finalVersions = new HashMap<>();
        try (var c = TestServers.db.connect(); var s = c.createStatement(); var rs = s.executeQuery("SELECT id, version FROM " + table)) {
            while (rs.next()) finalVersions.put(rs.getInt(1), rs.getInt(2));
        }
        assertThat(finalVersions).hasSize(SUBJECTS);
        assertThat(finalVersions.values().stream().mapToInt(Integer::intValue).sum()).isEqualTo(CHANGES);
        return finalVersions;
    }

    /** Every change arrived; first deliveries per subject in commit order; a repeat has the same ce_id; the retry store drained, no dead letter. */
    public static void assertNothingLost(List<Delivered> got, Map<Integer, Integer> finalVersions, String routeId) {
        Map<String, String> idOf = new HashMap<>();
        Map<String, List<Integer>> firstSeenOrder = new HashMap<>();
        for (Delivered d : got) {
            String previous = idOf.putIfAbsent(d.change(), d.ceId());
            if (previous != null) {
                assertThat(d.ceId()).as("a duplicate carries the same ce_id").isEqualTo(previous);
            } else {
                firstSeenOrder.computeIfAbsent(d.subject(), k -> new ArrayList<>()).add(d.version());
            }
        }
        List<String> missing = new ArrayList<>();
        finalVersions.forEach((id, version) -> {
            for (int v = 1; v <= version; v++) if (!idOf.containsKey(id + "/" + v)) missing.add(id + "/" + v);
        });
        assertThat(missing).as("changes that never arrived; dead letters: " + Sql.text("SELECT string_agg(event->>'subject' || ': ' || error, '; ') "
                + "FROM pgrouter.dead_letters WHERE route_id = '" + routeId + "'")).isEmpty();
        finalVersions.forEach((id, version) -> {
            List<Integer> all = new ArrayList<>();
            for (int v = 1; v <= version; v++) all.add(v);
            assertThat(firstSeenOrder.get(String.valueOf(id))).as("subject " + id + " in order").isEqualTo(all);
        });
        await().atMost(Duration.ofSeconds(60)).until(() -> Sql.count("SELECT count(*) FROM pgrouter.retries WHERE route_id = '" + routeId + "'") == 0);
        assertThat(Sql.count("SELECT count(*) FROM pgrouter.dead_letters WHERE route_id = '" + routeId + "'")).isZero();
    }
}
