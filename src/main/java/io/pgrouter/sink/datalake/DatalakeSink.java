package io.pgrouter.sink.datalake;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

import jakarta.inject.Named;
import jakarta.inject.Singleton;

import org.apache.camel.Exchange;
import org.apache.camel.Message;

import io.pgrouter.sink.BatchBoundary;
import io.quarkus.arc.Unremovable;

/**
 * The Java behind {@code kamelets/datalake-sink.kamelet.yaml}: appends each event as one JSON line to the file the
 * Kamelet names, and forces the files to disk once per source batch ({@link BatchBoundary}), not once per event.
 * Camel's file component opens, writes, forces and closes the file for every exchange, which capped the WAL
 * path at a few thousand events/s; it has no notion of a batch end.
 */
@Singleton
@Named("datalakeSink")
@Unremovable
public class DatalakeSink implements BatchBoundary {

    /** Header with the lake's root directory (set by the Kamelet from its {@code root} parameter). */
    public static final String ROOT = "pgrouterLakeRoot";

    private static final int MAX_OPEN_FILES = 64;
    private static final int EAGER_WRITE_BYTES = 1 << 20;

    private final Map<Path, Pending> files = new LinkedHashMap<>(16, 0.75f, true);

    private static final class Pending {
        final FileChannel channel;
        final ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        boolean unforced;

        Pending(FileChannel channel) {
            this.channel = channel;
        }
    }

    /** Takes the event in the exchange's body; it is on disk after the next {@link #flush()}. */
    public synchronized void append(Exchange exchange) throws IOException {
        Message in = exchange.getMessage();
        String root = in.getHeader(ROOT, String.class);
        if (root == null) throw new IllegalArgumentException("datalake-sink needs the header " + ROOT);
        Path path = Path.of(root).resolve(file(in)).toAbsolutePath().normalize();
        Pending pending = files.get(path);
        if (pending == null) {
            Files.createDirectories(path.getParent());
            pending = new Pending(FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND));
            files.put(path, pending);
            closeEldestBeyondLimit();
        }
        pending.buffer.write(exchange.getMessage().getBody(String.class).getBytes(StandardCharsets.UTF_8));
        pending.buffer.write('\n');
        if (pending.buffer.size() >= EAGER_WRITE_BYTES) write(pending); // whole lines only: readers never see half a line
    }

    /**
     * {@code <schema>.<table>/dt=<YYYY-MM-DD>/events.jsonl} by the UTC commit date; {@code notify.<channel>/...} and
     * {@code message.<prefix>/...} for events without a table. (Computed here, not in the Kamelet: an OGNL call in
     * Simple per event was a quarter of the WAL path's CPU.)
     */
    static String file(Message in) {
        String table = in.getHeader("pgTable", String.class);
        String folder = table != null ? in.getHeader("pgSchema", String.class) + "." + table
                : in.getHeader("pgOp", String.class) + "." + in.getHeader("pgChannel", String.class);
        String time = in.getHeader("ceTime", String.class);
        String day = time != null && time.length() >= 10 ? time.substring(0, 10) : java.time.LocalDate.now(java.time.ZoneOffset.UTC).toString();
        return folder + "/dt=" + day + "/events.jsonl";
    }

    @Override
    public synchronized void flush() throws IOException {
        for (Pending pending : files.values()) {
            write(pending);
            if (pending.unforced) {
                pending.channel.force(false);
                pending.unforced = false;
            }
        }
    }

    private static void write(Pending pending) throws IOException {
        if (pending.buffer.size() == 0) return;
        ByteBuffer bytes = ByteBuffer.wrap(pending.buffer.toByteArray());
        while (bytes.hasRemaining()) pending.channel.write(bytes);
        pending.buffer.reset();
        pending.unforced = true;
    }

    private void closeEldestBeyondLimit() throws IOException {
        Iterator<Pending> eldest = files.values().iterator();
        while (files.size() > MAX_OPEN_FILES) {
            Pending pending = eldest.next();
            write(pending);
            pending.channel.force(false);
            pending.channel.close();
            eldest.remove();
        }
    }
}
