package io.pgrouter.testing;

import java.nio.file.Path;

/** Debian's redis-server on a loopback port of its own, nothing saved to disk. */
public final class RedisServer implements AutoCloseable {

    private final PackagedServer server;

    public RedisServer() throws Exception {
        server = new PackagedServer(Path.of("/usr/bin/redis-server"), "redis-server");
        server.start("--port", String.valueOf(server.port()), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", server.home().toString());
    }

    public int port() {
        return server.port();
    }

    @Override
    public void close() throws Exception {
        server.close();
    }
}
