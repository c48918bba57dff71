package io.pgrouter.testing;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/** Debian's redis-server on a loopback port of its own, nothing saved to disk. Needs the {@code redis-server} package (.ci/run installs it). */
public final class RedisServer implements AutoCloseable {

    public static final Path SERVER = Path.of("/usr/bin/redis-server");

    private final Path home;
    private final int port;
    private final Process process;

    public RedisServer() throws IOException {
        if (!Files.isExecutable(SERVER)) {
            throw new IllegalStateException(SERVER + " is missing: install Debian's redis-server package (apt-get install redis-server), as .ci/run does");
        }
        home = Files.createTempDirectory("pgrouter-redis");
        port = Ports.free();
        process = new ProcessBuilder(SERVER.toString(), "--port", String.valueOf(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--dir", home.toString()).redirectErrorStream(true).redirectOutput(home.resolve("redis.log").toFile()).start();
        await().atMost(Duration.ofSeconds(20)).ignoreExceptions().until(() -> {
            try (Socket s = new Socket("127.0.0.1", port)) {
                return true;
            }
        });
    }

    public int port() {
        return port;
    }

    @Override
    public void close() throws Exception {
        process.destroy();
        if (!process.waitFor(10, TimeUnit.SECONDS)) process.destroyForcibly();
        try (var files = Files.walk(home)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        }
    }
}
