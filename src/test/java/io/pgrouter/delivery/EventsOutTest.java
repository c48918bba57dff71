package io.pgrouter.delivery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URL;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

import io.pgrouter.testing.Sql;
import io.pgrouter.testing.TestServers;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;

/** pgrouter_events_out_total says what became of each event, per route and sink (src/test/routes/wal-metered-to-lake-and-webhooks.yaml). */
@QuarkusTest
@QuarkusTestResource(value = TestServers.class, restrictToAnnotatedClass = false)
class EventsOutTest {

    private static final String ROUTE = "wal-metered-to-lake-and-webhooks";
    private static final Pattern SERIES = Pattern.compile("^pgrouter_events_out_total\\{([^}]*)} (\\S+)$", Pattern.MULTILINE);

    @TestHTTPResource("/q/metrics")
    URL metricsUrl;

    @Test
    void eachEventIsCountedUnderWhatBecameOfItPerRouteAndSink() {
        Integer[] ok = new Integer[5];
        java.util.Arrays.fill(ok, 200);
        TestServers.webhook.script("/metered", ok);
        Integer[] down = new Integer[200];
        java.util.Arrays.fill(down, 503);
        TestServers.webhook.script("/metered-down", down);
        TestServers.webhook.script("/metered-bad", 400);
        // 20 rows: 13 filtered out; of the 7 let through, all go to the lake, 5 to a receiver that takes them, one to
        // a receiver that is down (parked in the retry store), one to a receiver that refuses it (dead-lettered)
        for (int id = 1; id <= 20; id++) {
            String target = id == 6 ? "down" : id == 7 ? "bad" : "ok";
            Sql.exec("INSERT INTO test.metered VALUES (" + id + ", " + (id <= 7) + ", '" + target + "')");
        }
        Map<String, Double> expected = new TreeMap<>(Map.of(
                "filtered/", 13.0,
                "delivered/datalake-sink", 7.0,
                "delivered/webhook-sink", 5.0,
                "parked/webhook-sink", 1.0,
                "dead-lettered/webhook-sink", 1.0));
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(outcomes()).isEqualTo(expected));
        assertThat(Sql.count("SELECT count(*) FROM pgrouter.retries WHERE route_id = '" + ROUTE + "'")).isEqualTo(1);
        assertThat(Sql.count("SELECT count(*) FROM pgrouter.dead_letters WHERE route_id = '" + ROUTE + "'")).isEqualTo(1);

        // the receiver is back: the retry worker delivers the parked event, and it counts as delivered then
        TestServers.webhook.script("/metered-down", 200);
        expected.put("delivered/webhook-sink", 6.0);
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(outcomes()).isEqualTo(expected));
        assertThat(Sql.count("SELECT count(*) FROM pgrouter.retries WHERE route_id = '" + ROUTE + "'")).isZero();
    }

    /** The route's series as outcome/sink -> count. */
    private Map<String, Double> outcomes() throws Exception {
        String metrics = java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(metricsUrl.toURI()).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString()).body();
        Map<String, Double> found = new TreeMap<>();
        Matcher m = SERIES.matcher(metrics);
        while (m.find()) {
            Map<String, String> labels = new TreeMap<>();
            for (String label : m.group(1).split(",")) {
                String[] kv = label.split("=", 2);
                labels.put(kv[0], kv[1].replace("\"", ""));
            }
            if (!ROUTE.equals(labels.get("route"))) continue;
            found.put(labels.get("outcome") + "/" + labels.getOrDefault("sink", "?"), Double.parseDouble(m.group(2)));
        }
        return found;
    }
}
