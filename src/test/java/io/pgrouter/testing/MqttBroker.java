package io.pgrouter.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Debian's Mosquitto (MQTT 3.1.1 and 5) on a loopback port of its own, with its sessions and queued messages on disk:
 * a subscriber with a persistent session gets what was published while it was away, across a broker restart.
 */
public final class MqttBroker implements AutoCloseable {

    private final PackagedServer server;
    private final Path config;

    public MqttBroker() throws IOException {
        server = new PackagedServer(Path.of("/usr/sbin/mosquitto"), "mosquitto");
        config = server.home().resolve("mosquitto.conf");
        // user root: as root Mosquitto would switch to the mosquitto user, who cannot write this folder
        Files.writeString(config, String.join("\n",
                "listener " + server.port() + " 127.0.0.1",
                "allow_anonymous true",
                "persistence true",
                "persistence_location " + server.home() + "/",
                "user root",
                "log_dest file " + server.home().resolve("mosquitto.log"),
                ""));
    }

    public String url() {
        return "tcp://127.0.0.1:" + server.port();
    }

    /** Starts the broker (again) on the same port and data; returns once it accepts connections. */
    public MqttBroker start() throws IOException {
        server.start("-c", config.toString());
        return this;
    }

    /** Stops it the way a service manager does (SIGTERM): Mosquitto writes its sessions and queued messages to disk first. */
    public void stop() throws InterruptedException {
        server.stop();
    }

    @Override
    public void close() throws Exception {
        server.close();
    }
}
