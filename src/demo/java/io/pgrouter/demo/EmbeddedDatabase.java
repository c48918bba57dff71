package io.pgrouter.demo;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;

import io.pgrouter.install.TriggerInstaller;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;

/**
 * A real PostgreSQL server (zonky's embedded binaries) with logical decoding on, for the demo and the tests.
 * It keeps its data directory and port across {@link #restart()}.
 */
public final class EmbeddedDatabase implements AutoCloseable {

    private final Path dataDir;
    private int port;
    private EmbeddedPostgres server;

    public EmbeddedDatabase(Path dataDir, int port) {
        this.dataDir = dataDir;
        this.port = port;
    }

    public synchronized EmbeddedDatabase start() throws IOException {
        EmbeddedPostgres.Builder builder = EmbeddedPostgres.builder()
                .setDataDirectory(dataDir)
                .setCleanDataDirectory(false)
                .setServerConfig("wal_level", "logical")
                .setServerConfig("max_replication_slots", "10")
                .setServerConfig("max_wal_senders", "10")
                // zonky turns it off; decoding right after a commit would then see nothing
                .setServerConfig("synchronous_commit", "on")
                .setServerConfig("fsync", "off")
                .setServerConfig("max_connections", "100");
        if (port > 0) builder.setPort(port);
        server = builder.start();
        port = server.getPort();
        return this;
    }

    /**
     * A fast shutdown; if PostgreSQL has not stopped when zonky gives up waiting (a logical walsender waits for its
     * client to confirm the last WAL, and the router confirms only after storing its offset in this very database),
     * an immediate shutdown of the postmaster.
     */
    public synchronized void stop() throws IOException {
        if (server == null) return;
        try {
            server.close(); // logs, but does not throw, when pg_ctl stop times out
        } catch (IOException | RuntimeException slow) {
            // checked below
        }
        immediateShutdown(); // no-op once the postmaster is gone
        server = null;
    }

    private void immediateShutdown() throws IOException {
        Path pidFile = dataDir.resolve("postmaster.pid");
        if (!java.nio.file.Files.exists(pidFile)) return;
        long pid = Long.parseLong(java.nio.file.Files.readAllLines(pidFile).get(0).trim());
        java.util.Optional<ProcessHandle> postmaster = ProcessHandle.of(pid);
        if (postmaster.isEmpty() || !postmaster.get().isAlive()) return;
        new ProcessBuilder("kill", "-QUIT", Long.toString(pid)).inheritIO().start();
        long deadline = System.currentTimeMillis() + 30_000;
        while (postmaster.map(ProcessHandle::isAlive).orElse(false) && System.currentTimeMillis() < deadline) {
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    public synchronized void restart() throws IOException {
        stop();
        start();
    }

    public String jdbcUrl() {
        return "jdbc:postgresql://127.0.0.1:" + port + "/postgres";
    }

    public int port() {
        return port;
    }

    public Connection connect() throws SQLException {
        return DriverManager.getConnection(jdbcUrl(), "postgres", "");
    }

    /** The demo marketplace (sql/demo/marketplace.sql) with a NOTIFY trigger on subscriptions and a durable one on sellers. */
    public void installMarketplace() throws SQLException, IOException {
        try (Connection c = connect(); Statement s = c.createStatement()) {
            s.execute(resource("/sql/demo/marketplace.sql"));
            TriggerInstaller.install(c, "marketplace.subscriptions", TriggerInstaller.Mode.NOTIFY, "subscriptions");
            TriggerInstaller.install(c, "marketplace.sellers", TriggerInstaller.Mode.DURABLE, "sellers");
        }
    }

    private static String resource(String name) throws IOException {
        try (InputStream in = EmbeddedDatabase.class.getResourceAsStream(name)) {
            if (in == null) throw new IOException(name + " is missing from the class path");
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Override
    public void close() throws IOException {
        stop();
    }
}
