package io.pgrouter.demo;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.util.Random;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import org.jboss.logging.Logger;

import io.pgrouter.config.CommandConfig;

/**
 * README command 1 (`mvn -Pdemo package`): an embedded PostgreSQL under ./data/postgres with the marketplace
 * schema, a webhook receiver on :8089 (GET it to see deliveries) and a generator of listings, then the packaged
 * router as a child process pointed at them. With pgrouter.postgres.url set, the router uses that database
 * instead and nothing is generated.
 */
public final class Demo {

    private static final Logger LOG = Logger.getLogger("pgrouter.demo");

    public static void main(String... args) throws Exception {
        java.util.List<String> command = new java.util.ArrayList<>(java.util.List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx512m"));
        // settings given to Maven with -Dpgrouter.... reach the router too
        System.getProperties().stringPropertyNames().stream().filter(k -> k.startsWith("pgrouter."))
                .forEach(k -> command.add("-D" + k + "=" + System.getProperty(k)));
        // the demo's own SMTP server: plain SMTP on loopback (a -D option given to Maven wins)
        if (System.getProperty("pgrouter.sinks.email.port") == null) command.add("-Dpgrouter.sinks.email.port=3025");
        if (System.getProperty("pgrouter.sinks.email.security") == null) command.add("-Dpgrouter.sinks.email.security=none");
        start(command);
        command.addAll(java.util.List.of("-jar", "target/quarkus-app/quarkus-run.jar"));
        Process router = new ProcessBuilder(command).inheritIO().start();
        Runtime.getRuntime().addShutdownHook(new Thread(router::destroy));
        System.exit(router.waitFor());
    }

    private static void start(java.util.List<String> routerCommand) {
        try {
            WebhookReceiver receiver = new WebhookReceiver(Integer.getInteger("pgrouter.demo.receiver-port", 8089));
            receiver.onDelivery(d -> LOG.infof("webhook receiver got %s", d.body().length() > 240 ? d.body().substring(0, 240) + "..." : d.body()));
            LOG.infof("demo webhook receiver (the storefront cache): %s (GET it to list deliveries)", receiver.url("/webhook"));
            startMailServer(receiver);
            if (CommandConfig.settings().getOptionalValue("pgrouter.postgres.url", String.class).isPresent()) {
                LOG.info("pgrouter.postgres.url is set: using that database, no embedded PostgreSQL, no generator");
                return;
            }
            EmbeddedDatabase db = new EmbeddedDatabase(Path.of("data", "postgres").toAbsolutePath(), 54329).start();
            db.installMarketplace();
            try (Connection c = db.connect()) {
                // two subscribers, so the first listings already mail someone
                c.createStatement().executeUpdate("INSERT INTO marketplace.subscriptions (buyer_email, category) VALUES "
                        + "('ana@example.com', 'books'), ('ana@example.com', 'garden'), ('ben@example.com', 'games') ON CONFLICT DO NOTHING");
            }
            routerCommand.add("-Dpgrouter.postgres.url=" + db.jdbcUrl());
            routerCommand.add("-Dpgrouter.postgres.user=postgres");
            LOG.infof("demo PostgreSQL: %s (psql -h 127.0.0.1 -p %d -U postgres)", db.jdbcUrl(), db.port());
            startGenerator(db);
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try {
                    db.close();
                } catch (Exception e) {
                    LOG.warn("stopping the demo PostgreSQL failed", e);
                }
            }));
        } catch (Exception e) {
            throw new IllegalStateException("the demo environment could not start: " + e.getMessage(), e);
        }
    }

    /**
     * The subscribers' mailbox: a real SMTP server (GreenMail) on 127.0.0.1:3025 (pgrouter.sinks.email.port) for the
     * email route; {@code GET /mail} on the webhook receiver lists what it received, and each email is logged.
     */
    private static void startMailServer(WebhookReceiver receiver) {
        int port = Integer.getInteger("pgrouter.sinks.email.port", 3025);
        com.icegreen.greenmail.util.GreenMail smtp = new com.icegreen.greenmail.util.GreenMail(
                new com.icegreen.greenmail.util.ServerSetup(port, "127.0.0.1", com.icegreen.greenmail.util.ServerSetup.PROTOCOL_SMTP));
        smtp.start();
        java.util.function.Supplier<java.util.List<java.util.Map<String, String>>> mails = () -> {
            java.util.List<java.util.Map<String, String>> list = new java.util.ArrayList<>();
            for (jakarta.mail.internet.MimeMessage m : smtp.getReceivedMessages()) {
                try {
                    list.add(java.util.Map.of("to", java.util.Arrays.toString(m.getAllRecipients()), "subject", String.valueOf(m.getSubject()),
                            "body", com.icegreen.greenmail.util.GreenMailUtil.getBody(m).trim()));
                } catch (jakarta.mail.MessagingException e) {
                    list.add(java.util.Map.of("error", e.toString()));
                }
            }
            return list;
        };
        receiver.serve("/mail", () -> {
            try {
                return io.pgrouter.event.CanonicalEvent.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(mails.get()) + "\n";
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new IllegalStateException(e);
            }
        });
        ScheduledExecutorService watcher = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "demo-mailbox");
            t.setDaemon(true);
            return t;
        });
        int[] seen = {0};
        watcher.scheduleWithFixedDelay(() -> {
            java.util.List<java.util.Map<String, String>> all = mails.get();
            for (int i = seen[0]; i < all.size(); i++) LOG.infof("mail server got: to %s, \"%s\"", all.get(i).get("to"), all.get(i).get("subject"));
            seen[0] = all.size();
        }, 1, 1, TimeUnit.SECONDS);
        LOG.infof("demo mail server (the subscribers' mailbox): smtp://127.0.0.1:%d; %s lists what it received", port,
                receiver.url("/mail"));
    }

    /** Every 3 s a seller lists, reprices or removes a product, or a buyer subscribes to a category. */
    private static void startGenerator(EmbeddedDatabase db) {
        ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "demo-generator");
            t.setDaemon(true);
            return t;
        });
        Random random = new Random();
        String[] categories = { "books", "games", "garden", "music" };
        timer.scheduleWithFixedDelay(() -> {
            try (Connection c = db.connect()) {
                int dice = random.nextInt(10);
                String category = categories[random.nextInt(categories.length)];
                if (dice < 5) {
                    try (PreparedStatement ps = c.prepareStatement("INSERT INTO marketplace.products (seller_id, category, title, price, tags, attributes) "
                            + "SELECT id, ?, ?, ?, ARRAY[?], jsonb_build_object('condition', 'new') FROM marketplace.sellers ORDER BY random() LIMIT 1")) {
                        ps.setString(1, category);
                        ps.setString(2, category + " item #" + random.nextInt(1000));
                        ps.setBigDecimal(3, new java.math.BigDecimal(random.nextInt(10000)).movePointLeft(2));
                        ps.setString(4, category);
                        ps.executeUpdate();
                    }
                } else if (dice < 7) {
                    c.createStatement().executeUpdate("UPDATE marketplace.products SET price = round(price * 0.9, 2), updated_at = now() "
                            + "WHERE id = (SELECT id FROM marketplace.products ORDER BY random() LIMIT 1)");
                } else if (dice < 8) {
                    c.createStatement().executeUpdate("DELETE FROM marketplace.products WHERE id = (SELECT min(id) FROM marketplace.products)");
                } else if (dice < 9) {
                    try (PreparedStatement ps = c.prepareStatement("INSERT INTO marketplace.subscriptions (buyer_email, category) VALUES (?, ?) ON CONFLICT DO NOTHING")) {
                        ps.setString(1, "buyer" + random.nextInt(100) + "@example.com");
                        ps.setString(2, category);
                        ps.executeUpdate();
                    }
                } else {
                    try (PreparedStatement ps = c.prepareStatement("INSERT INTO marketplace.sellers (name, email) VALUES (?, ?) ON CONFLICT DO NOTHING")) {
                        int n = random.nextInt(1000);
                        ps.setString(1, "Seller " + n);
                        ps.setString(2, "seller" + n + "@example.com");
                        ps.executeUpdate();
                    }
                }
            } catch (Exception e) {
                LOG.warnf("demo generator: %s", e.getMessage());
            }
        }, 2, 3, TimeUnit.SECONDS);
    }
}
