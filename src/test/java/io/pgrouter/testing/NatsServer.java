package io.pgrouter.testing;

import java.nio.file.Path;

/** Debian's nats-server with JetStream on a loopback port of its own, its store in a temp folder. */
public final class NatsServer implements AutoCloseable {

    private final PackagedServer server;

    public NatsServer() throws Exception {
        server = new PackagedServer(Path.of("/usr/sbin/nats-server"), "nats-server");
        server.start("-a", "127.0.0.1", "-p", String.valueOf(server.port()), "-js", "-sd", server.home().toString());
    }

    /** Creates a JetStream stream that stores {@code subject}, as whoever runs NATS does beforehand (nats stream add). */
    public void addStream(String name, String subject) throws Exception {
        try (io.nats.client.Connection c = io.nats.client.Nats.connect("nats://" + servers())) {
            c.jetStreamManagement().addStream(io.nats.client.api.StreamConfiguration.builder().name(name).subjects(subject).build());
        }
    }

    public String servers() {
        return "127.0.0.1:" + server.port();
    }

    @Override
    public void close() throws Exception {
        server.close();
    }
}
