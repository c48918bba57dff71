package io.pgrouter.sink.webhook;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;

import io.pgrouter.config.PostgresConfig;
import io.pgrouter.install.InstallCommand;
import io.pgrouter.postgres.Postgres;

/**
 * {@code bin/pgrouter webhooks list} shows the endpoints disabled by 410 Gone; {@code bin/pgrouter webhooks enable <url>}
 * re-enables one (the running router notices within 2 s). Dead letters it collected meanwhile are replayed with
 * {@code bin/pgrouter dead-letters replay}.
 */
public final class WebhooksCommand {

    private WebhooksCommand() {
    }

    public static int run(String... args) {
        boolean list = args.length == 1 && args[0].equals("list");
        boolean enable = args.length == 2 && args[0].equals("enable");
        if (!list && !enable) {
            System.err.println("usage: pgrouter webhooks list\n       pgrouter webhooks enable <url>");
            return 2;
        }
        try {
            Postgres postgres = new Postgres(InstallCommand.config().getConfigMapping(PostgresConfig.class));
            String table = postgres.schema() + ".disabled_webhooks";
            try (Connection c = postgres.open()) {
                if (enable) {
                    try (PreparedStatement ps = c.prepareStatement("DELETE FROM " + table + " WHERE url = ?")) {
                        ps.setString(1, WebhookComponent.plain(args[1]));
                        int n = ps.executeUpdate();
                        System.out.println(n == 0 ? WebhookComponent.plain(args[1]) + " is not disabled"
                                : "re-enabled " + WebhookComponent.plain(args[1]) + "; the running router sends to it again within 2 s");
                    }
                    return 0;
                }
                try (PreparedStatement ps = c.prepareStatement("SELECT url, disabled_at, coalesce(last_answer, '') FROM " + table + " ORDER BY disabled_at");
                        ResultSet rs = ps.executeQuery()) {
                    System.out.println("url\tdisabled_at\tlast_answer");
                    while (rs.next()) System.out.println(rs.getString(1) + "\t" + rs.getString(2) + "\t" + rs.getString(3));
                }
                return 0;
            }
        } catch (SQLException e) {
            if ("42P01".equals(e.getSQLState())) {
                System.out.println(enable ? "no webhook endpoint is disabled" : "url\tdisabled_at\tlast_answer");
                return 0;
            }
            System.err.println("webhooks failed: " + e.getMessage());
            return 1;
        } catch (Exception e) {
            System.err.println("webhooks failed: " + e.getMessage());
            return 1;
        }
    }
}
