package io.pgrouter;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;

/** bin/pgrouter's command lines, in the test JVM and without a database: help, version, usage errors, a failure. */
class CliTest {

    record Run(int code, String out, String err) {
    }

    static Run run(List<String> words, String... more) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cli = Cli.commandLine().setOut(new PrintWriter(out, true)).setErr(new PrintWriter(err, true));
        List<String> args = new ArrayList<>(words);
        args.addAll(List.of(more));
        int code = cli.execute(args.toArray(String[]::new));
        return new Run(code, out.toString(), err.toString());
    }

    /** Every command and sub-command as the words that call it: [], [install], [dead-letters], [dead-letters, list], ... */
    static Stream<List<String>> commands() {
        List<List<String>> all = new ArrayList<>();
        collect(Cli.commandLine(), List.of(), all);
        return all.stream();
    }

    private static void collect(CommandLine command, List<String> words, List<List<String>> all) {
        all.add(words);
        command.getSubcommands().forEach((name, sub) -> {
            List<String> longer = new ArrayList<>(words);
            longer.add(name);
            collect(sub, longer, all);
        });
    }

    static CommandSpec spec(List<String> words) {
        CommandLine command = Cli.commandLine();
        for (String word : words) command = command.getSubcommands().get(word);
        return command.getCommandSpec();
    }

    @ParameterizedTest
    @MethodSource("commands")
    void everyCommandDescribesItselfItsOptionsAndTheirDefaults(List<String> words) {
        CommandSpec spec = spec(words);
        assertThat(spec.usageMessage().description()).as("a one-line description").hasSize(1);
        for (String help : List.of("--help", "-h")) {
            Run r = run(words, help);
            assertThat(r.code()).as(r.err()).isZero();
            assertThat(r.out()).startsWith("Usage: " + String.join(" ", spec.qualifiedName()))
                    .contains(spec.usageMessage().description()[0].substring(0, 30));
            for (OptionSpec option : spec.options()) {
                assertThat(r.out()).contains(option.longestName());
                if (!option.usageHelp() && !option.versionHelp() && !option.required()) {
                    assertThat(String.join(" ", option.description())).as(option.longestName() + " says its default").contains("Default");
                }
            }
            for (PositionalParamSpec parameter : spec.positionalParameters()) assertThat(r.out()).contains(parameter.paramLabel());
            for (String sub : spec.subcommands().keySet()) assertThat(r.out()).contains(sub);
        }
    }

    @Test
    void theTopLevelHelpListsTheCommandsWhereSettingsComeFromAndTheExitCodes() {
        Run r = run(List.of(), "--help");
        assertThat(r.out()).contains("install", "dead-letters", "webhooks")
                .contains("-Dpgrouter.postgres.url", "PGROUTER_POSTGRES_URL", "config/application.properties")
                .contains("Exit codes:", "  0  done", "  1  the command failed", "  2  the command line is wrong");
    }

    @Test
    void versionIsTheProjectVersion() {
        Run r = run(List.of(), "--version");
        assertThat(r.code()).isZero();
        assertThat(r.out().strip()).matches("pg-event-router \\d+\\.\\d+\\.\\d+\\S*");
    }

    @ParameterizedTest
    @MethodSource("commands")
    void anUnknownOptionIsAUsageErrorNamingIt(List<String> words) {
        Run r = run(words, "--no-such-option");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("Unknown option: '--no-such-option'").contains("Usage: " + String.join(" ", spec(words).qualifiedName()));
        assertThat(r.out()).isEmpty();
    }

    @Test
    void missingOrWrongArgumentsAreUsageErrorsNamingWhatIsWrong() {
        assertUsageError(run(List.of("install", "--channel", "orders")), "Missing required option: '--table=<schema.table>'");
        assertUsageError(run(List.of("install", "--tabel", "shop.orders", "--channel", "orders")), "Unknown option", "'--tabel'", "--table");
        assertUsageError(run(List.of("install", "--table", "shop.orders")), "--channel", "--replica-identity");
        assertUsageError(run(List.of("install", "--table", "shop.orders", "--channel", "orders", "--mode", "loud")), "--mode", "'loud'");
        assertUsageError(run(List.of("install", "--table", "shop.orders", "--replica-identity", "half")), "--replica-identity", "'half'");
        assertUsageError(run(List.of("dead-letters", "replay")), "replay what? --all, --sink <sink>, --route <route> or --id <id>");
        assertUsageError(run(List.of("dead-letters", "list", "--id", "forty-two")), "--id", "forty-two");
        assertUsageError(run(List.of("dead-letters")), "Missing required subcommand");
        assertUsageError(run(List.of("webhooks", "enable")), "<url>");
        assertUsageError(run(List.of("webhooks", "disable")), "disable");
        assertUsageError(run(List.of()), "Missing required subcommand");
    }

    private static void assertUsageError(Run r, String... named) {
        assertThat(r.code()).as(r.err()).isEqualTo(2);
        assertThat(r.err()).contains(named).contains("Usage: pgrouter");
    }

    @Test
    void aDatabaseThatCannotBeReachedIsOneParagraphAndExitCodeOne() {
        String before = System.getProperty("pgrouter.postgres.url");
        System.setProperty("pgrouter.postgres.url", "jdbc:postgresql://127.0.0.1:1/shop");
        try {
            for (List<String> command : List.of(List.of("dead-letters", "list"), List.of("dead-letters", "replay", "--all"),
                    List.of("webhooks", "list"), List.of("webhooks", "enable", "https://hooks.example.com/orders"),
                    List.of("install", "--table", "shop.orders", "--channel", "orders"))) {
                Run r = run(command);
                assertThat(r.code()).as(r.err()).isEqualTo(1);
                assertThat(r.err()).startsWith(command.get(0) + " failed: PostgreSQL at jdbc:postgresql://127.0.0.1:1/shop cannot be reached (")
                        .contains("Check pgrouter.postgres.url").doesNotContain("\tat ").doesNotContain("Exception");
                assertThat(r.err().strip()).doesNotContain("\n");
            }
        } finally {
            if (before == null) System.clearProperty("pgrouter.postgres.url");
            else System.setProperty("pgrouter.postgres.url", before);
        }
    }
}
