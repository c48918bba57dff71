package io.pgrouter.bench;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * WAL baseline: PostgreSQL's own {@code pg_recvlogical} streaming a pgoutput slot (same plugin, same kind of
 * publication as the router's Debezium engine) to its stdout, which the harness reads through a pipe and decodes.
 * An insert counts as arrived when the read() that returned the last byte of its pgoutput Insert message came
 * back. No JSON is built and nothing is written to disk: this is the floor the router's stream sits on.
 *
 * pg_recvlogical writes each XLogData payload followed by one '\n'; the decoder checks that separator, so a
 * format misunderstanding fails loudly instead of miscounting.
 */
final class RecvLogicalBaseline implements Consumer {

    private final Path pgBin;
    private final Path work;
    private final int port;
    private final Connection admin;
    private final String slot;
    private final String publication;
    private final Arrivals arrivals = new Arrivals();
    private Process process;
    private Thread reader;

    RecvLogicalBaseline(Path pgBin, Path work, int port, Connection admin, String slot, String publication) {
        this.pgBin = pgBin;
        this.work = work;
        this.port = port;
        this.admin = admin;
        this.slot = slot;
        this.publication = publication;
    }

    @Override
    public String name() {
        return "pg_recvlogical (pgoutput)";
    }

    @Override
    public Arrivals arrivals() {
        return arrivals;
    }

    @Override
    public void start() throws Exception {
        try (Statement s = admin.createStatement()) {
            s.execute("SELECT pg_create_logical_replication_slot('" + slot + "', 'pgoutput')");
        }
        List<String> cmd = List.of(pgBin.resolve("pg_recvlogical").toString(),
                "-h", "127.0.0.1", "-p", Integer.toString(port), "-U", "postgres", "-d", "postgres",
                "--slot", slot, "--start", "--no-loop", "-f", "-", "-F", "0", "-s", "1",
                "-o", "proto_version=1", "-o", "publication_names=" + publication);
        process = new ProcessBuilder(Procs.dieWithParent(cmd))
                .directory(work.toFile())
                .redirectError(work.resolve("pg_recvlogical.log").toFile())
                .start();
        reader = new Thread(this::read, "bench-pgoutput-reader");
        reader.setDaemon(true);
        reader.start();
        // streaming starts from the slot's creation point, so nothing committed from here on is missed
    }

    private void read() {
        Decoder decoder = new Decoder();
        byte[] chunk = new byte[1 << 16];
        try (InputStream in = process.getInputStream()) {
            int r;
            while ((r = in.read(chunk)) > 0) {
                long stamp = Arrivals.nowMicros();
                decoder.feed(chunk, r, stamp);
            }
        } catch (IOException | RuntimeException e) {
            if (process.isAlive()) System.err.println("[bench] pgoutput reader failed: " + e);
        }
    }

    /** Incremental decoder of pgoutput protocol version 1 messages, each followed by '\n'. */
    final class Decoder {
        private byte[] buf = new byte[1 << 20];
        private int start;
        private int end;
        private final Map<Integer, List<String>> relations = new HashMap<>();

        void feed(byte[] data, int len, long stamp) {
            if (end + len > buf.length) {
                System.arraycopy(buf, start, buf, 0, end - start);
                end -= start;
                start = 0;
                if (end + len > buf.length) buf = java.util.Arrays.copyOf(buf, Math.max(buf.length * 2, end + len));
            }
            System.arraycopy(data, 0, buf, end, len);
            end += len;
            while (true) {
                int used = message(start, stamp);
                if (used < 0) break;
                start += used;
            }
        }

        private static final class Incomplete extends RuntimeException {
            Incomplete() {
                super(null, null, false, false);
            }
        }

        private int p;

        private void need(int n) {
            if (p + n > end) throw new Incomplete();
        }

        private int u8() {
            need(1);
            return buf[p++] & 0xff;
        }

        private int i16() {
            need(2);
            int v = ((buf[p] & 0xff) << 8) | (buf[p + 1] & 0xff);
            p += 2;
            return v;
        }

        private int i32() {
            need(4);
            int v = ((buf[p] & 0xff) << 24) | ((buf[p + 1] & 0xff) << 16) | ((buf[p + 2] & 0xff) << 8) | (buf[p + 3] & 0xff);
            p += 4;
            return v;
        }

        private void skip(int n) {
            need(n);
            p += n;
        }

        private String cstring() {
            int s = p;
            while (true) {
                need(1);
                if (buf[p++] == 0) return new String(buf, s, p - s - 1, StandardCharsets.UTF_8);
            }
        }

        /** Bytes used by the message at {@code at} (separator included), or -1 when it is not complete yet. */
        private int message(int at, long stamp) {
            p = at;
            try {
                int type = u8();
                Object row = null;
                switch (type) {
                    case 'B' -> skip(8 + 8 + 4);
                    case 'C' -> skip(1 + 8 + 8 + 8);
                    case 'O' -> {
                        skip(8);
                        cstring();
                    }
                    case 'Y' -> {
                        skip(4);
                        cstring();
                        cstring();
                    }
                    case 'R' -> {
                        int relid = i32();
                        cstring();
                        cstring();
                        skip(1);
                        int n = i16();
                        List<String> cols = new java.util.ArrayList<>();
                        for (int i = 0; i < n; i++) {
                            skip(1);
                            cols.add(cstring());
                            skip(8);
                        }
                        relations.put(relid, cols);
                    }
                    case 'I' -> {
                        int relid = i32();
                        if (u8() != 'N') throw new IllegalStateException("pgoutput Insert without a new tuple");
                        row = tuple(relations.get(relid));
                    }
                    default -> throw new IllegalStateException("unexpected pgoutput message '" + (char) type + "'");
                }
                if (u8() != '\n') throw new IllegalStateException("pgoutput message '" + (char) type + "' not followed by the newline pg_recvlogical writes");
                if (row != null) arrivals.add(stamp, row);
                return p - at;
            } catch (Incomplete e) {
                return -1;
            }
        }

        private Seen tuple(List<String> cols) {
            int n = i16();
            long txid = -1;
            int rowN = -1;
            for (int i = 0; i < n; i++) {
                int kind = u8();
                if (kind == 't' || kind == 'b') {
                    int len = i32();
                    need(len);
                    String col = cols == null ? null : cols.get(i);
                    if ("txid".equals(col)) txid = Long.parseLong(new String(buf, p, len, StandardCharsets.US_ASCII));
                    else if ("n".equals(col)) rowN = Integer.parseInt(new String(buf, p, len, StandardCharsets.US_ASCII));
                    p += len;
                }
            }
            return new Seen(txid, rowN, -1);
        }
    }

    @Override
    public Seen parse(Object item) {
        return (Seen) item;
    }

    @Override
    public Process process() {
        return process;
    }

    @Override
    public void close() {
        Procs.stop(process, 10_000);
        try (Statement s = admin.createStatement()) {
            s.execute("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '" + slot + "' AND NOT active");
        } catch (Exception e) {
            System.err.println("[bench] could not drop slot " + slot + ": " + e.getMessage());
        }
    }
}
