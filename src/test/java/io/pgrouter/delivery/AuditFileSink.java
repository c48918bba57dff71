package io.pgrouter.delivery;

import static java.nio.charset.StandardCharsets.UTF_8;
import static java.nio.file.StandardOpenOption.APPEND;
import static java.nio.file.StandardOpenOption.CREATE;
import static java.nio.file.StandardOpenOption.WRITE;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;

/** The example sink in docs/delivery.md ("How a sink is built"): each event's JSON appended to a file, on the contract. */
public class AuditFileSink implements Sink {

    private final AuditFileConfig config;
    private final DurableDelivery delivery;

    public AuditFileSink(AuditFileConfig config, SinkContext context) {
        this.config = config;
        this.delivery = context.delivery();
    }

    @Override
    public void accept(RoutedEvent event) throws Exception {
        String json = event.json();
        delivery.deliver(json, event.subject(), event.routeId(), () -> append(json));
    }

    @Override
    public void redeliver(String json) throws SinkDeliveryException, InterruptedException {
        delivery.probe(() -> append(json));
    }

    private synchronized void append(String json) throws SinkDeliveryException {
        try (FileChannel out = FileChannel.open(Path.of(config.getPath()), CREATE, WRITE, APPEND)) {
            out.write(ByteBuffer.wrap((json + "\n").getBytes(UTF_8)));
            if (config.isSync()) out.force(false);
        } catch (IOException e) {
            // a full disk or a missing folder may be fixed: retried, then waits in the retry store
            throw new SinkDeliveryException(config.sink(), config.where() + " failed: " + e, null, null, 1, true, null, e);
        }
    }

    @Override
    public void close() {
    }
}
