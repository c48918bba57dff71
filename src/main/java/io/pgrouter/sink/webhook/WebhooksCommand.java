package io.pgrouter.sink.webhook;

import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.concurrent.Callable;

import io.pgrouter.Cli;
import io.pgrouter.config.CommandConfig;
import io.pgrouter.postgres.Postgres;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code bin/pgrouter webhooks list} shows the endpoints disabled by 410 Gone; {@code bin/pgrouter webhooks enable <url>}
 * re-enables one (the running router notices within 2 s). Dead letters it collected meanwhile are replayed with
 * {@code bin/pgrouter dead-letters replay}.
 */
@Command(name = "webhooks", mixinStandardHelpOptions = true, versionProvider = Cli.Version.class,
        description = "Lists the webhook endpoints disabled by 410 Gone, and re-enables them.",
        subcommands = { WebhooksCommand.ListCommand.class, WebhooksCommand.EnableCommand.class })
public final class WebhooksCommand {

    static final String HEADER = "url\tdisabled_at\tlast_answer";

    @Command(name = "list", mixinStandardHelpOptions = true, versionProvider = Cli.Version.class,
            description = "Lists the webhook endpoints disabled by 410 Gone, one tab-separated line each: url, since when, the last answer.")
    static final class ListCommand implements Callable<Integer> {

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            PrintWriter out = spec.commandLine().getOut();
            return onDisabled(out, HEADER, (c, table) -> {
                try (PreparedStatement ps = c.prepareStatement("SELECT url, disabled_at, coalesce(last_answer, '') FROM " + table + " ORDER BY disabled_at");
                        ResultSet rs = ps.executeQuery()) {
                    out.println(HEADER);
                    while (rs.next()) out.println(rs.getString(1) + "\t" + rs.getString(2) + "\t" + rs.getString(3));
                }
            });
        }
    }

    @Command(name = "enable", mixinStandardHelpOptions = true, versionProvider = Cli.Version.class,
            description = "Re-enables a webhook endpoint disabled by 410 Gone: the running router sends to it again within 2 s.",
            footer = { "", "Events dead-lettered while it was disabled go out again with",
                    "  bin/pgrouter dead-letters replay --sink webhook-sink", "",
                    "Example:", "  bin/pgrouter webhooks enable https://hooks.example.com/orders" })
    static final class EnableCommand implements Callable<Integer> {

        @Spec
        CommandSpec spec;

        @Parameters(paramLabel = "<url>", description = "The endpoint's URL as webhooks list shows it (a query string is ignored).")
        String url;

        @Override
        public Integer call() throws Exception {
            String plain;
            try {
                plain = WebhookReceivers.plain(url);
            } catch (IllegalArgumentException e) {
                throw new ParameterException(spec.commandLine(), "Invalid value for <url>: " + e.getMessage());
            }
            PrintWriter out = spec.commandLine().getOut();
            return onDisabled(out, "no webhook endpoint is disabled", (c, table) -> {
                try (PreparedStatement ps = c.prepareStatement("DELETE FROM " + table + " WHERE url = ?")) {
                    ps.setString(1, plain);
                    out.println(ps.executeUpdate() == 0 ? plain + " is not disabled"
                            : "re-enabled " + plain + "; the running router sends to it again within 2 s");
                }
            });
        }
    }

    interface Work {
        void run(Connection c, String table) throws SQLException;
    }

    /** Works on the table of disabled endpoints, which the router creates at the first 410 Gone: until then none is disabled. */
    static int onDisabled(PrintWriter out, String whenNoTable, Work work) throws SQLException {
        Postgres postgres = new Postgres(CommandConfig.postgres());
        try (Connection c = postgres.open()) {
            work.run(c, postgres.schema() + ".disabled_webhooks");
        } catch (SQLException e) {
            if (!"42P01".equals(e.getSQLState())) throw e;
            out.println(whenNoTable);
        }
        return 0;
    }
}
