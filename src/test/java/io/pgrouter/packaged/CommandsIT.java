package io.pgrouter.packaged;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

/**
 * bin/pgrouter as a user runs it, from a folder of their own, without a database: where the settings come from (a
 * refused connection names the URL the command used), the exit codes, and the version.
 */
class CommandsIT {

    record Run(int code, String output) {
    }

    static Run pgrouter(Path folder, Map<String, String> environment, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of("bin/pgrouter").toAbsolutePath().toString()));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command).directory(folder.toFile()).redirectErrorStream(true);
        pb.environment().keySet().removeIf(name -> name.startsWith("PGROUTER_") || name.equals("JAVA_OPTS"));
        pb.environment().putAll(environment);
        Process p = pb.start();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return new Run(p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
    }

    /** The URL a command used: its failure names it (nothing listens on port 1). */
    static String urlUsed(Path folder, Map<String, String> environment) throws Exception {
        Run r = pgrouter(folder, environment, "dead-letters", "list");
        assertThat(r.code()).as(r.output()).isEqualTo(1);
        assertThat(r.output()).doesNotContain("\tat ");
        return r.output().replaceFirst("(?s)^dead-letters failed: PostgreSQL at (\\S+) cannot be reached.*", "$1");
    }

    @Test
    void settingsComeFromDOptionsThenTheEnvironmentThenTheWorkingFoldersConfigFile() throws Exception {
        Path folder = Files.createTempDirectory("pgrouter-commands");
        Files.createDirectories(folder.resolve("config"));
        Files.writeString(folder.resolve("config/application.properties"), "pgrouter.postgres.url=jdbc:postgresql://127.0.0.1:1/from_file\n");
        String env = "jdbc:postgresql://127.0.0.1:1/from_env";
        assertThat(urlUsed(folder, Map.of())).isEqualTo("jdbc:postgresql://127.0.0.1:1/from_file");
        assertThat(urlUsed(folder, Map.of("PGROUTER_POSTGRES_URL", env))).isEqualTo(env);
        assertThat(urlUsed(folder, Map.of("PGROUTER_POSTGRES_URL", env, "JAVA_OPTS", "-Dpgrouter.postgres.url=jdbc:postgresql://127.0.0.1:1/from_d")))
                .isEqualTo("jdbc:postgresql://127.0.0.1:1/from_d");

        Files.delete(folder.resolve("config/application.properties"));
        Run unset = pgrouter(folder, Map.of(), "webhooks", "list");
        assertThat(unset.code()).isEqualTo(1);
        assertThat(unset.output()).startsWith("webhooks failed: pgrouter.postgres.url is not set: set the environment variable PGROUTER_POSTGRES_URL");
    }

    @Test
    void helpVersionAndAUsageErrorFromThePackagedRouter() throws Exception {
        Path folder = Files.createTempDirectory("pgrouter-commands");
        Run help = pgrouter(folder, Map.of(), "--help");
        assertThat(help.code()).isZero();
        assertThat(help.output()).contains("install", "dead-letters", "webhooks", "Exit codes:");
        Run version = pgrouter(folder, Map.of(), "--version");
        assertThat(version.code()).isZero();
        assertThat(version.output().strip()).matches("pg-event-router \\d+\\.\\d+\\.\\d+\\S*");
        Run wrong = pgrouter(folder, Map.of(), "install", "--tabel", "shop.orders");
        assertThat(wrong.code()).isEqualTo(2);
        assertThat(wrong.output()).contains("Unknown options: '--tabel'", "Possible solutions: --table", "Usage: pgrouter install");
    }
}
