package io.pgrouter.packaged;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;

import com.fasterxml.jackson.databind.JsonNode;

import io.pgrouter.event.CanonicalEvent;
import io.pgrouter.testing.Sql;
import io.pgrouter.testing.TestServers;

/** bin/pgrouter-install as a user runs it: what it prints, that it is idempotent, that the trigger emits, a refused password. */
class InstallCommandIT {

    static final TestServers servers = new TestServers();

    @BeforeAll
    static void startServers() {
        servers.start();
        Sql.exec("CREATE TABLE IF NOT EXISTS public.install_me (id int PRIMARY KEY, name text)");
    }

    @AfterAll
    static void stopServers() {
        servers.stop();
    }

    record Run(int code, String output) {
    }

    static Run pgrouterInstall(String password, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of("bin/pgrouter-install"));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().put("PGROUTER_POSTGRES_URL", TestServers.db.jdbcUrl());
        pb.environment().put("PGROUTER_POSTGRES_PASSWORD", password);
        Process p = pb.start();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return new Run(p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
    }

    static String install(String... args) throws Exception {
        Run r = pgrouterInstall(TestServers.db.password(), args);
        assertThat(r.code()).as(r.output()).isZero();
        return r.output();
    }

    @Test
    void installsOnceSaysSoTheSecondTimeAndTheTriggerNotifies() throws Exception {
        assertThat(install("--table", "public.install_me", "--mode", "notify", "--channel", "install_me"))
                .contains("created trigger pgrouter_notify on public.install_me (notify, channel install_me, key id)");
        assertThat(install("--table", "public.install_me", "--mode", "notify", "--channel", "install_me"))
                .contains("trigger pgrouter_notify on public.install_me already installed").doesNotContain("created");
        try (Connection listener = TestServers.db.connect(); Statement s = listener.createStatement()) {
            s.execute("LISTEN install_me");
            Sql.exec("INSERT INTO public.install_me VALUES (5, 'five')");
            List<String> payloads = new ArrayList<>();
            await().atMost(Duration.ofSeconds(10)).until(() -> {
                PGNotification[] got = listener.unwrap(PGConnection.class).getNotifications(200);
                if (got != null) for (PGNotification n : got) payloads.add(n.getParameter());
                return !payloads.isEmpty();
            });
            JsonNode payload = CanonicalEvent.JSON.readTree(payloads.get(0));
            assertThat(payload.get("op").asText()).isEqualTo("insert");
            assertThat(payload.at("/after/name").asText()).isEqualTo("five");
            assertThat(payload.at("/key/id").asInt()).isEqualTo(5);
        }
        assertThat(install("--table", "public.install_me", "--mode", "durable", "--channel", "install_me"))
                .contains("removed trigger pgrouter_notify on public.install_me").contains("created trigger pgrouter_durable on public.install_me");
        assertThat(Sql.count("SELECT count(*) FROM pg_trigger WHERE tgrelid = 'public.install_me'::regclass AND tgname LIKE 'pgrouter%'")).isEqualTo(2);
    }

    @Test
    void perStatementInstallsOneTriggerPerOperationAndSwitchingBackRemovesThem() throws Exception {
        Sql.exec("CREATE TABLE IF NOT EXISTS public.install_bulk (id int PRIMARY KEY, name text)");
        assertThat(install("--table", "public.install_bulk", "--mode", "durable", "--per", "statement", "--channel", "bulk"))
                .contains("created trigger pgrouter_durable_insert on public.install_bulk (durable per statement, channel bulk, key id)")
                .contains("created trigger pgrouter_durable_update on public.install_bulk")
                .contains("created trigger pgrouter_durable_delete on public.install_bulk")
                .contains("created trigger pgrouter_durable_truncate on public.install_bulk");
        assertThat(install("--table", "public.install_bulk", "--mode", "durable", "--per", "statement", "--channel", "bulk"))
                .doesNotContain("created").contains("trigger pgrouter_durable_update on public.install_bulk already installed");
        // a multi-row statement writes one message carrying its rows
        Sql.exec("SELECT pg_create_logical_replication_slot('install_bulk', 'test_decoding')");
        try {
            Sql.exec("INSERT INTO public.install_bulk SELECT g, 'n' || g FROM generate_series(1, 3) g");
            assertThat(Sql.count("SELECT count(*) FROM pg_logical_slot_get_changes('install_bulk', NULL, NULL) "
                    + "WHERE data LIKE 'message: transactional: 1 prefix: bulk,%' AND data LIKE '%\"rows\" : [{\"after\" : {\"id\":1,%'")).isEqualTo(1);
        } finally {
            Sql.exec("SELECT pg_drop_replication_slot('install_bulk')");
        }
        assertThat(install("--table", "public.install_bulk", "--mode", "durable", "--channel", "bulk"))
                .contains("removed trigger pgrouter_durable_insert on public.install_bulk (switching to durable)")
                .contains("created trigger pgrouter_durable on public.install_bulk");
        assertThat(Sql.count("SELECT count(*) FROM pg_trigger WHERE tgrelid = 'public.install_bulk'::regclass AND tgname LIKE 'pgrouter%'")).isEqualTo(2);

        Run notify = pgrouterInstall(TestServers.db.password(), "--table", "public.install_bulk", "--mode", "notify", "--per", "statement",
                "--channel", "bulk");
        assertThat(notify.code()).as(notify.output()).isEqualTo(2);
        assertThat(notify.output()).contains("--per statement needs --mode durable");
    }

    @Test
    void aRefusedPasswordIsOneParagraphNamingTheSettingsAndExitCodeOne() throws Exception {
        Run r = pgrouterInstall("not-the-password", "--table", "public.install_me", "--channel", "install_me");
        assertThat(r.code()).as(r.output()).isEqualTo(1);
        assertThat(r.output()).startsWith("install failed: PostgreSQL at " + TestServers.db.jdbcUrl() + " refused user ")
                .contains("password authentication failed").contains("pgrouter.postgres.password").doesNotContain("\tat ");
        assertThat(r.output().strip()).doesNotContain("\n");
    }
}
