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
    private final String password;
    private int port;
    private EmbeddedPostgres server;

    /** A server that trusts every login (the demo and the benchmarks). */
    public EmbeddedDatabase(Path dataDir, int port) {
        this(dataDir, port, null);
    }

    /**
     * With a password, the server asks for it on every TCP login (scram-sha-256, role {@code postgres}), as a
     * stock PostgreSQL made by initdb and packaged by a distribution does.
     */
    public EmbeddedDatabase(Path dataDir, int port, String password) {
        this.dataDir = dataDir;
        this.port = port;
        this.password = password;
    }

    /** zonky's builder for a server with logical decoding on, keeping its data directory (initdb only when it is empty). */
    public static EmbeddedPostgres.Builder logicalDecoding(Path dataDir) {
        return EmbeddedPostgres.builder()
                .setDataDirectory(dataDir)
                .setCleanDataDirectory(false)
                .setServerConfig("wal_level", "logical")
                .setServerConfig("max_replication_slots", "10")
                .setServerConfig("max_wal_senders", "10")
                // zonky turns it off; decoding right after a commit would then see nothing, and synchronous replication needs it
                .setServerConfig("synchronous_commit", "on")
                .setServerConfig("fsync", "off")
                .setServerConfig("max_connections", "100");
    }

    public synchronized EmbeddedDatabase start() throws IOException {
        EmbeddedPostgres.Builder builder = logicalDecoding(dataDir);
        if (port > 0) builder.setPort(port);
        // zonky checks readiness with a JDBC login: it must send the password once pg_hba asks for one
        if (password != null) builder.setConnectConfig("password", password);
        server = builder.start();
        port = server.getPort();
        if (password != null) requirePasswords();
        return this;
    }

    /**
     * zonky's initdb trusts every login; this gives {@code postgres} a SCRAM password and makes every TCP login,
     * replication included, ask for it. Done once: the data directory keeps it across restarts.
     */
    private void requirePasswords() throws IOException {
        Path hba = dataDir.resolve("pg_hba.conf");
        String rules = "# every TCP login needs a password, as on a stock PostgreSQL\n"
                + "local all all trust\n"
                + "host all all 127.0.0.1/32 scram-sha-256\n"
                + "host all all ::1/128 scram-sha-256\n"
                + "host replication all 127.0.0.1/32 scram-sha-256\n"
                + "host replication all ::1/128 scram-sha-256\n";
        if (java.nio.file.Files.readString(hba).equals(rules)) return;
        try (Connection c = connect(); Statement s = c.createStatement()) {
            s.execute("SET password_encryption = 'scram-sha-256'");
            s.execute("ALTER ROLE postgres PASSWORD '" + password.replace("'", "''") + "'");
            java.nio.file.Files.writeString(hba, rules);
            s.execute("SELECT pg_reload_conf()");
        } catch (SQLException e) {
            throw new IOException("could not make " + dataDir + " ask for passwords: " + e.getMessage(), e);
        }
        // the reload is asynchronous: wait until a login without the password is refused
        long deadline = System.currentTimeMillis() + 10_000;
        while (true) {
            try (Connection anyone = DriverManager.getConnection(jdbcUrl(), "postgres", "")) {
                if (System.currentTimeMillis() > deadline) throw new IOException(dataDir + " still trusts every login after pg_reload_conf()");
            } catch (SQLException refused) {
                // the server refused it (28P01), or pgjdbc would not even try without a password once SCRAM is asked for (08004)
                if (java.util.Set.of("28P01", "28000", "08004").contains(refused.getSQLState())) return;
                throw new IOException("unexpected answer to a login without password: " + refused.getMessage(), refused);
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException(e);
            }
        }
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
        java.util.List<ProcessHandle> children = postmaster.get().descendants().toList();
        new ProcessBuilder("kill", "-QUIT", Long.toString(pid)).inheritIO().start();
        if (waitForExit(postmaster.get(), 10_000)) return;
        // a postmaster that does not end on SIGQUIT either: kill it and every process it started, so the next start
        // finds neither a live lock file owner nor a shared memory block in use (PostgreSQL recovers as after a crash)
        for (ProcessHandle child : children) child.destroyForcibly();
        postmaster.get().destroyForcibly();
        waitForExit(postmaster.get(), 10_000);
        for (ProcessHandle child : children) waitForExit(child, 5_000);
    }

    private static boolean waitForExit(ProcessHandle process, long millis) {
        long deadline = System.currentTimeMillis() + millis;
        while (process.isAlive() && System.currentTimeMillis() < deadline) {
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return !process.isAlive();
            }
        }
        return !process.isAlive();
    }

    public synchronized void restart() throws IOException {
        stop();
        start();
    }

    /** The data directory (pg_hba.conf, postgresql.auto.conf). */
    public Path dataDir() {
        return dataDir;
    }

    public String jdbcUrl() {
        return "jdbc:postgresql://127.0.0.1:" + port + "/postgres";
    }

    public int port() {
        return port;
    }

    /** The password of role {@code postgres}, or null when the server trusts every login. */
    public String password() {
        return password;
    }

    public Connection connect() throws SQLException {
        return DriverManager.getConnection(jdbcUrl(), "postgres", password == null ? "" : password);
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
