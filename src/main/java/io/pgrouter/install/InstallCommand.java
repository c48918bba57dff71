package io.pgrouter.install;

import java.sql.Connection;
import java.util.Locale;
import java.util.concurrent.Callable;

import io.pgrouter.Cli;
import io.pgrouter.config.CommandConfig;
import io.pgrouter.postgres.Postgres;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code bin/pgrouter install --table s.t --mode notify|durable [--per row|statement] --channel c}: installs the change trigger on a
 * table and exits, without starting the router; {@code --replica-identity full} sets the table's replica identity
 * (with or without a trigger).
 */
@Command(name = "install", mixinStandardHelpOptions = true, versionProvider = Cli.Version.class,
        description = "Installs the change trigger on a table, or sets its replica identity, and says what it did (idempotent).",
        footer = { "", "Examples:",
                "  bin/pgrouter install --table shop.orders --mode durable --channel orders",
                "  bin/pgrouter install --table shop.orders --mode durable --per statement \\",
                "      --channel orders",
                "  bin/pgrouter install --table shop.orders --replica-identity full" })
public final class InstallCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--table", required = true, paramLabel = "<schema.table>",
            description = "The table to install on; without a schema, public.")
    String table;

    @Option(names = "--mode", defaultValue = "notify", paramLabel = "notify|durable",
            description = "notify: the trigger calls pg_notify, at-most-once (routes subscribe with pg:notify?channels=<name>); "
                    + "durable: it writes a WAL message, at-least-once (pg:wal?messages=<name>). Default: ${DEFAULT-VALUE}.")
    String mode;

    @Option(names = "--per", defaultValue = "row", paramLabel = "row|statement",
            description = "With --mode durable: row writes one WAL message per changed row; statement writes one per statement "
                    + "carrying all its rows (a FOR EACH STATEMENT trigger with transition tables), cheaper for writers when "
                    + "statements change many rows. Routes receive the same events, one per row, either way. Default: ${DEFAULT-VALUE}.")
    String per;

    @Option(names = "--channel", paramLabel = "<name>",
            description = "The NOTIFY channel or WAL message prefix routes subscribe to. Needed for a trigger; "
                    + "without it, only --replica-identity is applied. Default: none.")
    String channel;

    @Option(names = "--replica-identity", paramLabel = "full|default",
            description = "Also sets the table's replica identity: full puts whole old rows into the WAL, so update and "
                    + "delete events carry before and changed. Default: left as it is.")
    String replicaIdentity;

    @Override
    public Integer call() throws Exception {
        TriggerInstaller.Mode trigger = TriggerInstaller.Mode.parse(oneOf("--mode", mode, "notify", "durable"));
        TriggerInstaller.Per messages = TriggerInstaller.Per.parse(oneOf("--per", per, "row", "statement"));
        if (messages == TriggerInstaller.Per.STATEMENT && trigger != TriggerInstaller.Mode.DURABLE) {
            throw new ParameterException(spec.commandLine(), "--per statement needs --mode durable (a NOTIFY payload is limited to 8000 bytes)");
        }
        if (replicaIdentity != null) oneOf("--replica-identity", replicaIdentity, "full", "default");
        if (channel == null && replicaIdentity == null) {
            throw new ParameterException(spec.commandLine(), "Missing option: --channel (to install a trigger) or --replica-identity, or both");
        }
        Postgres postgres = new Postgres(CommandConfig.postgres());
        try (Connection c = postgres.open()) {
            if (replicaIdentity != null) spec.commandLine().getOut().println(TriggerInstaller.replicaIdentity(c, table, replicaIdentity));
            if (channel != null) TriggerInstaller.install(c, table, trigger, messages, channel).forEach(spec.commandLine().getOut()::println);
        }
        return 0;
    }

    /** A value that must be one of a few words, checked before anything is done: a wrong one is a usage error. */
    private String oneOf(String option, String value, String... allowed) {
        String lower = value.toLowerCase(Locale.ROOT);
        for (String a : allowed) {
            if (a.equals(lower)) return lower;
        }
        throw new ParameterException(spec.commandLine(), "Invalid value for option '" + option + "': '" + value + "' (expected "
                + String.join(" or ", allowed) + ")");
    }
}
