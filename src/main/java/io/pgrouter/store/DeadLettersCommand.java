package io.pgrouter.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;

import io.pgrouter.config.PostgresConfig;
import io.pgrouter.install.InstallCommand;
import io.pgrouter.postgres.Postgres;

/**
 * {@code bin/pgrouter dead-letters list [--sink S] [--route R] [--replayed]} and
 * {@code bin/pgrouter dead-letters replay (--all | --sink S | --route R | --id N)}: a replay is a request the running
 * router carries out within seconds, through the route that failed the event.
 */
public final class DeadLettersCommand {

    private DeadLettersCommand() {
    }

    public static int run(String... args) {
        if (args.length == 0 || !(args[0].equals("list") || args[0].equals("replay"))) return usage();
        String sink = null, route = null, id = null;
        boolean all = false, replayed = false;
        for (int i = 1; i < args.length; i++) {
            String value = i + 1 < args.length ? args[i + 1] : null;
            switch (args[i]) {
                case "--sink" -> { sink = value; i++; }
                case "--route" -> { route = value; i++; }
                case "--id" -> { id = value; i++; }
                case "--all" -> all = true;
                case "--replayed" -> replayed = true;
                default -> {
                    return usage();
                }
            }
        }
        List<Object> params = new ArrayList<>();
        StringBuilder where = new StringBuilder(replayed ? " WHERE replayed_at IS NOT NULL" : " WHERE replayed_at IS NULL");
        if (sink != null) { where.append(" AND sink = ?"); params.add(sink); }
        if (route != null) { where.append(" AND route_id = ?"); params.add(route); }
        if (id != null) { where.append(" AND id = ?"); params.add(Long.parseLong(id)); }
        try {
            Postgres postgres = new Postgres(InstallCommand.config().getConfigMapping(PostgresConfig.class));
            String table = postgres.schema() + ".dead_letters";
            try (Connection c = postgres.open()) {
                if (args[0].equals("replay")) {
                    if (!all && sink == null && route == null && id == null) {
                        System.err.println("replay what? --all, --sink <sink>, --route <route> or --id <id>");
                        return 2;
                    }
                    try (PreparedStatement ps = c.prepareStatement("UPDATE " + table + " SET replay_requested_at = now()" + where)) {
                        bind(ps, params);
                        System.out.println(ps.executeUpdate() + " dead letter(s) queued for replay; the running router re-delivers them within seconds");
                    }
                    return 0;
                }
                try (PreparedStatement ps = c.prepareStatement("SELECT id, failed_at, route_id, coalesce(sink, '-'), coalesce(last_status::text, '-'), "
                        + "coalesce(attempts::text, '-'), event_id, coalesce(event->>'type', '-'), coalesce(event->>'subject', '-'), "
                        + "split_part(error, E'\\n', 1), replay_requested_at IS NOT NULL FROM " + table + where + " ORDER BY id")) {
                    bind(ps, params);
                    try (ResultSet rs = ps.executeQuery()) {
                        System.out.println("id\tfailed_at\troute\tsink\tstatus\tattempts\tevent_id\ttype\tsubject\terror\treplay_queued");
                        while (rs.next()) {
                            StringBuilder line = new StringBuilder();
                            for (int col = 1; col <= 11; col++) line.append(col == 1 ? "" : "\t").append(rs.getString(col));
                            System.out.println(line);
                        }
                    }
                }
            }
            return 0;
        } catch (Exception e) {
            System.err.println("dead-letters failed: " + e.getMessage());
            return 1;
        }
    }

    private static void bind(PreparedStatement ps, List<Object> params) throws java.sql.SQLException {
        for (int i = 0; i < params.size(); i++) ps.setObject(i + 1, params.get(i));
    }

    private static int usage() {
        System.err.println("usage: pgrouter dead-letters list [--sink S] [--route R] [--id N] [--replayed]\n"
                + "       pgrouter dead-letters replay (--all | --sink S | --route R | --id N)");
        return 2;
    }
}
