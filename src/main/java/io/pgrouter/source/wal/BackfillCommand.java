package io.pgrouter.source.wal;

import java.io.PrintWriter;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.Callable;

import io.pgrouter.Cli;
import io.pgrouter.config.CommandConfig;
import io.pgrouter.postgres.Postgres;
import io.pgrouter.source.wal.Backfills.Backfill;
import io.pgrouter.source.wal.Backfills.Status;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code bin/pgrouter backfill --table s.t [--where SQL] [--route R] [--cancel] [--wait]}: asks the running router to
 * send a table's existing rows as snapshot events (a Debezium incremental snapshot), or to stop doing so, and with
 * {@code --wait} prints its progress until it ends.
 */
@Command(name = "backfill", mixinStandardHelpOptions = true, versionProvider = Cli.Version.class,
        description = "Sends the existing rows of a table that routes read as postgres.row.snapshot events, chunk by chunk, "
                + "while live changes keep flowing; a row changed meanwhile is never overwritten by its older copy.",
        footer = { "", "Examples:",
                "  bin/pgrouter backfill --table shop.orders --wait",
                "  bin/pgrouter backfill --table shop.orders --where \"id > 5000\" --route to-lake",
                "  bin/pgrouter backfill --table shop.orders --cancel", "",
                "The running router carries it out, and resumes it after a restart. Progress:",
                "--wait, /q/health/ready (check pgrouter-sources), pgrouter_backfill_rows_total.",
                "Exit code with --wait: 0 when every row was sent, 1 when cancelled or failed." })
public final class BackfillCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--table", required = true, paramLabel = "<schema.table>",
            description = "The table to backfill; a pg:wal route must read it. Without a schema, public.")
    String table;

    @Option(names = "--where", paramLabel = "<SQL condition>",
            description = "Only the rows matching this condition, as in SELECT * FROM <table> WHERE <condition>. Default: every row.")
    String where;

    @Option(names = "--route", paramLabel = "<route id>",
            description = "Send the snapshot events to this route only; the table's other routes do not see them. Default: every route reading the table.")
    String route;

    @Option(names = "--cancel", description = "Stop the backfill of the table that is running (rows already sent stay sent). Default: request a backfill.")
    boolean cancel;

    @Option(names = "--wait", description = "Print the progress every second until the backfill ends; with a backfill "
            + "of the table already running, follow that one. Default: return once requested.")
    boolean waitForEnd;

    /** How often --wait reads the progress the router stores. */
    static final long POLL_MS = 1000;
    /** How long --wait waits for the router to start a request before it says so (once). */
    static final long PATIENCE_MS = 15_000;

    @Override
    public Integer call() throws Exception {
        if (cancel && (where != null || route != null)) {
            throw new ParameterException(spec.commandLine(), "--cancel takes only --table (and --wait): it stops the table's running backfill");
        }
        PrintWriter out = spec.commandLine().getOut();
        Backfills backfills = new Backfills(new Postgres(CommandConfig.postgres()));
        backfills.ensureSchema();
        Backfill b;
        if (cancel) {
            b = backfills.cancel(table);
            out.println("backfill " + b.id() + " of " + b.table() + ": cancel requested at " + b.done() + " of " + b.total() + " rows");
        } else if (waitForEnd && where == null && route == null && backfills.active(table).isPresent()) {
            b = backfills.active(table).get();
            out.println("following backfill " + b.id() + " of " + b.table() + " (" + b.status().name().toLowerCase(java.util.Locale.ROOT) + ")");
        } else {
            String publication = CommandConfig.value("pgrouter.wal.publication", "pgrouter");
            b = backfills.request(table, where, route, publication);
            out.println("backfill " + b.id() + " of " + b.table() + " requested: " + (b.estimated() ? "about " : "") + b.total() + " rows"
                    + (where == null ? "" : " where " + where) + ", to " + (route == null ? "every route reading the table" : "route " + route + " only"));
        }
        out.flush();
        if (!waitForEnd) {
            if (!cancel) out.println("follow it: bin/pgrouter backfill --table " + b.table() + " --wait (or /q/health/ready, pgrouter_backfill_rows_total)");
            return 0;
        }
        return follow(backfills, b.id(), out);
    }

    private int follow(Backfills backfills, String id, PrintWriter out) throws Exception {
        Instant since = Instant.now();
        String last = null;
        boolean toldWaiting = false;
        while (true) {
            Backfill b = backfills.byId(id).orElseThrow(() -> new IllegalStateException("backfill " + id + " disappeared from the router's table"));
            if (!b.status().active()) {
                // the router's summary: "done, 100000 rows in 12 s (8300 rows/s)", "failed: <why>"
                out.println(b.detail() == null ? b.status().name().toLowerCase(java.util.Locale.ROOT) + ", " + b.done() + " rows" : b.detail());
                out.flush();
                return b.status() == Status.DONE ? 0 : 1;
            }
            if (b.status() == Status.REQUESTED) {
                if (!toldWaiting && Duration.between(since, Instant.now()).toMillis() > PATIENCE_MS) {
                    out.println("still waiting for the router to start it: is the router running and leading?");
                    toldWaiting = true;
                }
            } else {
                double seconds = b.startedAt() == null ? 0 : Math.max(1, Duration.between(b.startedAt(), Instant.now()).toMillis()) / 1000.0;
                String line = Backfills.progress(b.done(), b.total(), b.estimated(), seconds > 0 ? b.done() / seconds : 0);
                if (!line.equals(last)) out.println(b.status().name().toLowerCase(java.util.Locale.ROOT) + ", " + line);
                last = line;
            }
            out.flush();
            Thread.sleep(POLL_MS);
        }
    }
}
