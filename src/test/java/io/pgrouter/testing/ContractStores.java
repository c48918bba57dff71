package io.pgrouter.testing;

import java.nio.file.Files;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.pgrouter.config.PostgresConfig;
import io.pgrouter.delivery.DeadLetterStore;
import io.pgrouter.delivery.EventsOut;
import io.pgrouter.delivery.RetryStore;
import io.pgrouter.delivery.SinkDestinations;
import io.pgrouter.demo.EmbeddedDatabase;
import io.pgrouter.postgres.Postgres;

/**
 * The stores of the delivery contract on a real PostgreSQL (password auth), without Quarkus: for unit tests of the
 * contract against a scripted sink. One server per test JVM; {@link #fresh()} empties the tables.
 */
public final class ContractStores {

    private static final String PASSWORD = "pw-" + java.util.UUID.randomUUID();
    private static EmbeddedDatabase db;

    public final Postgres postgres;
    public final RetryStore retries;
    public final DeadLetterStore deadLetters;
    public final SinkDestinations destinations;
    public final EventsOut out;

    private ContractStores(Postgres postgres) {
        this.postgres = postgres;
        this.retries = new RetryStore(postgres);
        this.deadLetters = new DeadLetterStore(postgres);
        SimpleMeterRegistry metrics = new SimpleMeterRegistry();
        this.destinations = new SinkDestinations(metrics);
        this.out = new EventsOut(metrics);
    }

    /** New stores on empty tables (the server is started on first use). */
    public static synchronized ContractStores fresh() throws Exception {
        if (db == null) {
            java.nio.file.Path work = Files.createTempDirectory("pgrouter-contract");
            db = new EmbeddedDatabase(work.resolve("pg"), 0, PASSWORD).start();
            // shared by the test classes of this JVM: stopped and removed when it ends
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try {
                    db.close();
                    Dirs.deleteTree(work);
                } catch (java.io.IOException e) {
                    // the JVM is ending; a folder left in the temp directory is all that is lost
                }
            }));
        }
        ContractStores stores = new ContractStores(new Postgres(config(db.jdbcUrl())));
        stores.deadLetters.ensureSchema();
        stores.retries.size(); // creates its table
        stores.exec("TRUNCATE pgrouter.retries, pgrouter.dead_letters");
        return stores;
    }

    /** PostgreSQL goes away (the stores' calls fail) until {@link #startDatabase()}. */
    public void stopDatabase() throws Exception {
        db.stop();
    }

    public void startDatabase() throws Exception {
        db.start();
    }

    public void exec(String sql) throws Exception {
        try (Connection c = db.connect(); Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }

    public String text(String query) throws Exception {
        try (Connection c = db.connect(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(query)) {
            return rs.next() ? rs.getString(1) : null;
        }
    }

    public long count(String query) throws Exception {
        return Long.parseLong(text(query));
    }

    /** A row event as a source writes it, of {@code subject}. */
    public static String event(String id, String subject) {
        return "{\"specversion\":\"1.0\",\"id\":\"" + id + "\",\"source\":\"/postgres/shop/public.items\",\"type\":\"postgres.row.insert\","
                + "\"subject\":\"" + subject + "\",\"time\":\"2026-01-01T00:00:00Z\",\"datacontenttype\":\"application/json\","
                + "\"pgdatabase\":\"shop\",\"pgschema\":\"public\",\"pgtable\":\"items\",\"pgop\":\"insert\","
                + "\"data\":{\"before\":null,\"after\":{\"id\":\"" + subject + "\"},\"changed\":[]}}";
    }

    private static PostgresConfig config(String url) {
        return new PostgresSettings(url, PASSWORD, "pgrouter");
    }
}
