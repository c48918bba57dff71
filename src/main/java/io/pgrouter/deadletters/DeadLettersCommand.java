package io.pgrouter.deadletters;

import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

import io.pgrouter.Cli;
import io.pgrouter.config.CommandConfig;
import io.pgrouter.postgres.Postgres;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code bin/pgrouter dead-letters list [--sink S] [--route R] [--id N] [--replayed]} and
 * {@code bin/pgrouter dead-letters replay (--all | --sink S | --route R | --id N)}: a replay is a request the running
 * router carries out within seconds, through the route that failed the event.
 */
@Command(name = "dead-letters", mixinStandardHelpOptions = true, versionProvider = Cli.Version.class,
        description = "Lists the events the router gave up on, and queues them for replay.",
        subcommands = { DeadLettersCommand.ListCommand.class, DeadLettersCommand.ReplayCommand.class })
public final class DeadLettersCommand {

    /** Which dead letters: each option given narrows the choice. */
    static final class Filter {

        @Option(names = "--sink", paramLabel = "<sink>", description = "Only those of this sink, e.g. webhook-sink. Default: every sink.")
        String sink;

        @Option(names = "--route", paramLabel = "<route>", description = "Only those of this route id. Default: every route.")
        String route;

        @Option(names = "--id", paramLabel = "<id>", description = "Only the dead letter with this id (the first column of list). Default: any.")
        Long id;

        boolean chosen() {
            return sink != null || route != null || id != null;
        }

        /** The WHERE clause, its values added to {@code params}. */
        String where(boolean replayed, List<Object> params) {
            StringBuilder where = new StringBuilder(replayed ? " WHERE replayed_at IS NOT NULL" : " WHERE replayed_at IS NULL");
            if (sink != null) { where.append(" AND sink = ?"); params.add(sink); }
            if (route != null) { where.append(" AND route_id = ?"); params.add(route); }
            if (id != null) { where.append(" AND id = ?"); params.add(id); }
            return where.toString();
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, versionProvider = Cli.Version.class,
            description = "Lists dead letters, one tab-separated line each: id, time, route, sink, last status, attempts, "
                    + "event id, type, subject, first line of the error, whether a replay is queued.",
            footer = { "", "Examples:", "  bin/pgrouter dead-letters list --sink webhook-sink", "  bin/pgrouter dead-letters list --replayed" })
    static final class ListCommand implements Callable<Integer> {

        @Spec
        CommandSpec spec;

        @Mixin
        Filter filter;

        @Option(names = "--replayed", description = "Those already replayed instead. Default: those not replayed yet.")
        boolean replayed;

        @Override
        public Integer call() throws Exception {
            List<Object> params = new ArrayList<>();
            String where = filter.where(replayed, params);
            PrintWriter out = spec.commandLine().getOut();
            Postgres postgres = new Postgres(CommandConfig.postgres());
            try (Connection c = postgres.open();
                    PreparedStatement ps = c.prepareStatement("SELECT id, failed_at, route_id, coalesce(sink, '-'), coalesce(last_status::text, '-'), "
                            + "coalesce(attempts::text, '-'), event_id, coalesce(event->>'type', '-'), coalesce(event->>'subject', '-'), "
                            + "split_part(error, E'\\n', 1), replay_requested_at IS NOT NULL FROM " + postgres.schema() + ".dead_letters"
                            + where + " ORDER BY id")) {
                bind(ps, params);
                try (ResultSet rs = ps.executeQuery()) {
                    out.println("id\tfailed_at\troute\tsink\tstatus\tattempts\tevent_id\ttype\tsubject\terror\treplay_queued");
                    while (rs.next()) {
                        StringBuilder line = new StringBuilder();
                        for (int col = 1; col <= 11; col++) line.append(col == 1 ? "" : "\t").append(rs.getString(col));
                        out.println(line);
                    }
                }
            }
            return 0;
        }
    }

    @Command(name = "replay", mixinStandardHelpOptions = true, versionProvider = Cli.Version.class,
            description = "Queues dead letters for replay: the running router sends each through the route that failed it "
                    + "within seconds, with the same event id.",
            footer = { "", "Give --all or at least one of --sink, --route, --id.", "", "Examples:",
                    "  bin/pgrouter dead-letters replay --id 42", "  bin/pgrouter dead-letters replay --sink webhook-sink" })
    static final class ReplayCommand implements Callable<Integer> {

        @Spec
        CommandSpec spec;

        @Mixin
        Filter filter;

        @Option(names = "--all", description = "Every dead letter not replayed yet. Default: only those --sink, --route or --id choose.")
        boolean all;

        @Override
        public Integer call() throws Exception {
            if (!all && !filter.chosen()) {
                throw new ParameterException(spec.commandLine(), "replay what? --all, --sink <sink>, --route <route> or --id <id>");
            }
            List<Object> params = new ArrayList<>();
            String where = filter.where(false, params);
            Postgres postgres = new Postgres(CommandConfig.postgres());
            try (Connection c = postgres.open();
                    PreparedStatement ps = c.prepareStatement("UPDATE " + postgres.schema() + ".dead_letters SET replay_requested_at = now()" + where)) {
                bind(ps, params);
                spec.commandLine().getOut().println(ps.executeUpdate() + " dead letter(s) queued for replay; the running router re-delivers them within seconds");
            }
            return 0;
        }
    }

    private static void bind(PreparedStatement ps, List<Object> params) throws SQLException {
        for (int i = 0; i < params.size(); i++) ps.setObject(i + 1, params.get(i));
    }
}
