package io.pgrouter.bench;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;

import org.postgresql.PGConnection;
import org.postgresql.PGNotification;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * NOTIFY baseline: a bare LISTEN loop on pgjdbc, {@code PGConnection.getNotifications(timeout)} on its own
 * connection, receiving what the same trigger sends. A notification counts as arrived when
 * getNotifications returned it. The payload is kept as received and parsed only after the phase.
 */
final class ListenBaseline implements Consumer {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final String jdbcUrl;
    private final String channel;
    private final Arrivals arrivals = new Arrivals();
    private Connection connection;
    private Thread loop;
    private volatile boolean running;
    private volatile boolean failed;

    ListenBaseline(String jdbcUrl, String channel) {
        this.jdbcUrl = jdbcUrl;
        this.channel = channel;
    }

    @Override
    public String name() {
        return "LISTEN loop (pgjdbc)";
    }

    @Override
    public Arrivals arrivals() {
        return arrivals;
    }

    @Override
    public void start() throws Exception {
        connection = DriverManager.getConnection(jdbcUrl, "postgres", "");
        try (Statement s = connection.createStatement()) {
            s.execute("LISTEN " + channel);
        }
        PGConnection pg = connection.unwrap(PGConnection.class);
        running = true;
        loop = new Thread(() -> {
            try {
                while (running) {
                    PGNotification[] got = pg.getNotifications(100);
                    if (got == null || got.length == 0) continue;
                    long stamp = Arrivals.nowMicros();
                    for (PGNotification n : got) arrivals.add(stamp, n.getParameter());
                }
            } catch (Exception e) {
                if (running) {
                    failed = true;
                    System.err.println("[bench] LISTEN loop failed: " + e);
                }
            }
        }, "bench-listen");
        loop.setDaemon(true);
        loop.start();
    }

    @Override
    public Seen parse(Object item) throws Exception {
        JsonNode after = JSON.readTree((String) item).path("after");
        return new Seen(after.path("txid").asLong(-1), after.path("n").asInt(-1), -1);
    }

    @Override
    public boolean alive() {
        return running && !failed;
    }

    @Override
    public void close() {
        running = false;
        try {
            if (loop != null) loop.join(2_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            if (connection != null) connection.close();
        } catch (Exception ignored) {
            // closing
        }
    }
}
