package io.pgrouter.testing;

import java.io.IOException;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.awaitility.Awaitility.await;

/**
 * Debian's Mosquitto (MQTT 3.1.1 and 5) on a loopback port of its own, with its sessions and queued messages on disk:
 * a subscriber with a persistent session gets what was published while it was away, across a broker restart.
 * Needs the {@code mosquitto} package (.ci/run installs it).
 */
public final class MqttBroker implements AutoCloseable {

    public static final Path SERVER = Path.of("/usr/sbin/mosquitto");

    private final Path home;
    private final int port;
    private Process process;

    public MqttBroker() throws IOException {
        if (!Files.isExecutable(SERVER)) {
            throw new IllegalStateException(SERVER + " is missing: install Debian's mosquitto package (apt-get install mosquitto), as .ci/run does");
        }
        home = Files.createTempDirectory("pgrouter-mqtt");
        port = Ports.free();
        // user root: as root Mosquitto would switch to the mosquitto user, who cannot write this folder
        Files.writeString(home.resolve("mosquitto.conf"), String.join("\n",
                "listener " + port + " 127.0.0.1",
                "allow_anonymous true",
                "persistence true",
                "persistence_location " + home + "/",
                "user root",
                "log_dest file " + home.resolve("mosquitto.log"),
                ""));
    }

    public String url() {
        return "tcp://127.0.0.1:" + port;
    }

    /** Starts the broker (again) on the same port and data; returns once it accepts connections. */
    public synchronized MqttBroker start() throws IOException {
        process = new ProcessBuilder(SERVER.toString(), "-c", home.resolve("mosquitto.conf").toString()).redirectErrorStream(true)
                .redirectOutput(home.resolve("console.log").toFile()).start();
        await().atMost(Duration.ofSeconds(20)).ignoreExceptions().until(() -> {
            try (Socket s = new Socket("127.0.0.1", port)) {
                return true;
            }
        });
        return this;
    }

    /** Stops it the way a service manager does (SIGTERM): Mosquitto writes its sessions and queued messages to disk first. */
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
