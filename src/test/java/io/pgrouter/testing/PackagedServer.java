package io.pgrouter.testing;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A server from a Debian package (.ci/run installs it), run from a temp folder on a loopback port of its own: started,
 * awaited until it accepts connections, stopped, its folder removed.
 */
public final class PackagedServer implements AutoCloseable {

    private final Path binary;
    private final Path home;
    private final int port;
    private Process process;

    public PackagedServer(Path binary, String debianPackage) throws IOException {
        if (!Files.isExecutable(binary)) {
            throw new IllegalStateException(binary + " is missing: install Debian's " + debianPackage + " package (apt-get install " + debianPackage
                    + "), as .ci/run does");
        }
        this.binary = binary;
        home = Files.createTempDirectory("pgrouter-" + debianPackage);
        port = Ports.free();
    }

    public Path home() {
        return home;
    }

    public int port() {
        return port;
    }

    /** Starts the server (again) with these arguments; returns once it accepts connections on its port. */
    public synchronized PackagedServer start(String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of(binary.toString()));
        command.addAll(List.of(args));
        process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(home.resolve("console.log").toFile()))
                .start();
        await().atMost(Duration.ofSeconds(20)).ignoreExceptions().until(() -> {
            try (Socket s = new Socket("127.0.0.1", port)) {
                return true;
            }
        });
        return this;
    }

    /** Stops it the way a service manager does (SIGTERM), so it can write what it keeps on disk. */
    public synchronized void stop() throws InterruptedException {
        if (process == null) return;
        process.destroy();
        if (!process.waitFor(20, TimeUnit.SECONDS)) process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        process = null;
    }

    @Override
    public void close() throws Exception {
        stop();
        try (var files = Files.walk(home)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        }
    }
}
