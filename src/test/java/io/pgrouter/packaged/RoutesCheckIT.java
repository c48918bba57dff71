package io.pgrouter.packaged;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.pgrouter.testing.TestServers;

/** bin/pgrouter routes check as a user (or a CI job, or an init container) runs it: every problem, file and line. */
class RoutesCheckIT {

    static final TestServers servers = new TestServers();

    @BeforeAll
    static void start() {
        servers.start();
    }

    @AfterAll
    static void stop() {
        servers.stop();
    }

    record Result(int code, String output) {
    }

    static Result check(Path dir) throws Exception {
        ProcessBuilder pb = new ProcessBuilder("bin/pgrouter", "routes", "check", dir.toString()).redirectErrorStream(true);
        pb.environment().put("PGROUTER_POSTGRES_URL", TestServers.db.jdbcUrl());
        pb.environment().put("PGROUTER_POSTGRES_PASSWORD", TestServers.db.password());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        return new Result(p.exitValue(), out);
    }

    static String route(String id, String table, String to) {
        return """
                - route:
                    id: %s
                    from:
                      uri: pg:wal
                      parameters:
                        tables: %s
                      steps:
                        - to: "%s"
                """.formatted(id, table, to);
    }

    @Test
    void everyBrokenFileIsNamedWithItsLineAndTheGoodOnesPass() throws Exception {
        Path dir = Files.createTempDirectory("check");
        Files.writeString(dir.resolve("a-good.yaml"), route("good", "marketplace.products", "kamelet:datalake-sink?target=data/lake"));
        Files.writeString(dir.resolve("b-indent.yaml"), route("indent", "marketplace.products", "kamelet:datalake-sink?target=data/lake")
                .replace("    from:", "  from:"));
        Files.writeString(dir.resolve("c-no-table.yaml"), route("no-table", "marketplace.nope", "kamelet:datalake-sink?target=data/lake"));
        Files.writeString(dir.resolve("d-no-url.yaml"), route("no-url", "marketplace.products", "kamelet:webhook-sink"));
        Files.writeString(dir.resolve("e-placeholder.yaml"), route("placeholder", "marketplace.products", "kamelet:webhook-sink?url={{pgrouter.nowhere.url}}"));
        Files.writeString(dir.resolve("f-template.yaml"), route("template", "marketplace.products", "kamelet:kafka-sink").replace("- to: \"kamelet:kafka-sink\"",
                "- to:\n            uri: kamelet:kafka-sink\n            parameters:\n              brokers: 127.0.0.1:1\n              topic: \"pg.${tabel}\""));

        Result result = check(dir);
        assertThat(result.code()).as(result.output()).isEqualTo(1);
        String out = result.output();
        assertThat(out).doesNotContain("a-good.yaml:").doesNotContainPattern("(?m)^\\s+at [\\w$.]+\\(");
        assertThat(out).containsPattern("b-indent\\.yaml:1: .*not valid YAML");
        assertThat(out).containsPattern("c-no-table\\.yaml(:\\d+)?: .*marketplace\\.nope.*does not exist");
        assertThat(out).containsPattern("d-no-url\\.yaml(:\\d+)?: .*url");
        assertThat(out).containsPattern("e-placeholder\\.yaml(:\\d+)?: .*pgrouter\\.nowhere\\.url");
        // a template is checked before any event: the line of the step, the route, the placeholder and what is known
        assertThat(out).containsPattern("f-template\\.yaml:8: route 'template': kafka-sink topic: unknown placeholder \\$\\{tabel} in 'pg\\.\\$\\{tabel}'.*Known: \\$\\{database}");
        assertThat(out).contains("5 of 6 route file(s) have a problem");
    }

    @Test
    void theShippedRoutesPass() throws Exception {
        Result result = check(Path.of("routes"));
        assertThat(result.code()).as(result.output()).isZero();
        assertThat(result.output()).contains("route(s): OK");
    }

    @Test
    void fiftyRoutesAreCheckedInOneRun() throws Exception {
        Path dir = Files.createTempDirectory("check50");
        for (int i = 0; i < 50; i++) {
            Files.writeString(dir.resolve("route-" + i + ".yaml"), route("r" + i, "marketplace.products",
                    i % 2 == 0 ? "kamelet:datalake-sink?target=data/lake" : "kamelet:webhook-sink?url=http://127.0.0.1:1/hook"));
        }
        long started = System.nanoTime();
        Result result = check(dir);
        long ms = (System.nanoTime() - started) / 1_000_000;
        assertThat(result.code()).as(result.output()).isZero();
        assertThat(result.output()).contains("50 route file(s), 50 route(s): OK");
        // a figure for docs/reload.md, not a timed assertion: the whole command, JVM and application start included
        System.out.printf("[routes-check] 50 route files: %d ms for the whole command; %s%n", ms, result.output().trim());
    }
}
