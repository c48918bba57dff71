package io.pgrouter;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.sql.SQLException;
import java.util.Properties;

import io.pgrouter.config.CommandConfig;
import io.pgrouter.install.InstallCommand;
import io.pgrouter.postgres.PostgresErrors;
import io.pgrouter.sink.webhook.WebhooksCommand;
import io.pgrouter.deadletters.DeadLettersCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.IVersionProvider;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.UnmatchedArgumentException;

/** {@code bin/pgrouter <command>}: the router's commands, run beside (not inside) the router. */
@Command(name = "pgrouter", mixinStandardHelpOptions = true, versionProvider = Cli.Version.class,
        description = "The router's commands, run beside the router: triggers, dead letters, disabled webhooks, route checks and tests, recorded events, backfills.",
        subcommands = { InstallCommand.class, DeadLettersCommand.class, WebhooksCommand.class, io.pgrouter.lifecycle.RoutesCommand.class,
                io.pgrouter.source.wal.BackfillCommand.class, io.pgrouter.source.wal.EventsCommand.class },
        footer = { "", "bin/pgrouter <command> --help describes a command and its options.", "",
                "Where settings come from (pgrouter.postgres.*), first found first:",
                "  1. -D options in JAVA_OPTS (-Dpgrouter.postgres.url=jdbc:postgresql://...)",
                "  2. the environment (PGROUTER_POSTGRES_URL, _USER, _PASSWORD, _SCHEMA)",
                "  3. config/application.properties in the working folder",
                "  4. the application.properties packaged with the router", "",
                "Exit codes:",
                "  0  done",
                "  1  the command failed (database unreachable, login refused, ...):",
                "     one paragraph on stderr says why",
                "  2  the command line is wrong (unknown or missing option, bad value):",
                "     the error and the usage on stderr" })
public final class Cli {

    public static void main(String... args) {
        System.exit(run(args));
    }

    /** Runs one command line as {@code bin/pgrouter} does and returns its exit code. */
    public static int run(String... args) {
        return commandLine().execute(args);
    }

    /** Every command, with one way of reporting a wrong command line (exit code 2) and a failure (exit code 1). */
    public static CommandLine commandLine() {
        return new CommandLine(new Cli()).setParameterExceptionHandler(Cli::wrong).setExecutionExceptionHandler(Cli::failed);
    }

    /** A wrong command line: the error, what the user may have meant, and always the usage. */
    static int wrong(ParameterException e, String[] args) {
        CommandLine command = e.getCommandLine();
        // an unknown option (--tabel) says more than the required one it displaced (--table)
        ParameterException shown = e instanceof UnmatchedArgumentException || command.getUnmatchedArguments().isEmpty() ? e
                : new UnmatchedArgumentException(command, command.getUnmatchedArguments());
        PrintWriter err = command.getErr();
        err.println(shown.getMessage());
        UnmatchedArgumentException.printSuggestions(shown, err);
        command.usage(err);
        err.flush();
        return CommandLine.ExitCode.USAGE;
    }

    /** A command that failed while running: one paragraph, the stack trace only with io.pgrouter at DEBUG. */
    static int failed(Exception e, CommandLine command, ParseResult parsed) {
        CommandLine top = command;
        while (top.getParent() != null && top.getParent().getParent() != null) top = top.getParent();
        PrintWriter err = command.getErr();
        err.println(top.getCommandName() + " failed: " + explain(e));
        if (CommandConfig.traces()) e.printStackTrace(err);
        err.flush();
        return CommandLine.ExitCode.SOFTWARE;
    }

    /** What went wrong, on one line; for the database, which setting to check. */
    static String explain(Throwable e) {
        SQLException login = PostgresErrors.loginRefused(e);
        String where = "PostgreSQL at " + CommandConfig.value("pgrouter.postgres.url", "(no pgrouter.postgres.url)");
        if (login != null) {
            return where + " refused user " + CommandConfig.value("pgrouter.postgres.user", "postgres") + " (" + oneLine(login.getMessage())
                    + "). Check pgrouter.postgres.user and pgrouter.postgres.password; bin/pgrouter --help says where settings come from.";
        }
        if (PostgresErrors.connectionLost(e)) {
            return where + " cannot be reached (" + oneLine(e.getMessage()) + "). Check pgrouter.postgres.url and that the server "
                    + "accepts connections from this host; bin/pgrouter --help says where settings come from.";
        }
        return oneLine(e.getMessage() == null ? e.toString() : e.getMessage());
    }

    private static String oneLine(String text) {
        return text == null ? "" : text.strip().replaceAll("\\s*\\R\\s*", " ");
    }

    /** The project version, written into version.properties by the build. */
    public static final class Version implements IVersionProvider {

        @Override
        public String[] getVersion() throws IOException {
            Properties build = new Properties();
            try (InputStream in = Cli.class.getResourceAsStream("version.properties")) {
                if (in != null) build.load(in);
            }
            return new String[] { "pg-event-router " + build.getProperty("version", "(unknown version)") };
        }
    }
}
