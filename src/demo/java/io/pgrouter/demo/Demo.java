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
            LOG.infof("demo webhook receiver: %s (GET it to list deliveries)", receiver.url("/webhook"));
            if (CommandConfig.settings().getOptionalValue("pgrouter.postgres.url", String.class).isPresent()) {
                LOG.info("pgrouter.postgres.url is set: using that database, no embedded PostgreSQL, no generator");
                return;
            }
            EmbeddedDatabase db = new EmbeddedDatabase(Path.of("data", "postgres").toAbsolutePath(), 54329).start();
            db.installMarketplace();
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
