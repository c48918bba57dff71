package io.pgrouter.testing;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A real RabbitMQ (Debian's {@code rabbitmq-server}, installed by {@code .ci/run}) started as a process of its own in
 * a temporary directory: its own node name, AMQP port, Mnesia and log folders and Erlang cookie, so it never meets
 * a broker already on the machine. It runs in its own PID namespace, so the epmd daemon Erlang starts beside it
 * ends with it; as root it runs as the {@code rabbitmq} user. Stopping and starting again keeps the data folder:
 * durable queues and persistent messages survive, as on a real restart.
 */
public final class RabbitMqBroker implements AutoCloseable {

    public static final Path SERVER = Path.of("/usr/lib/rabbitmq/bin/rabbitmq-server");

    private final Path home;
    private final int port;
    private final int distPort;
    private final int epmdPort;
    private final String node;
    private Process process;

    /** @param maxMessageBytes the broker's max_message_size (bigger messages close the publishing channel) */
    public RabbitMqBroker(long maxMessageBytes) throws IOException {
        this(maxMessageBytes, List.of());
    }

    /** With more lines of rabbitmq.conf (a TLS listener: {@code listeners.ssl.default}, {@code ssl_options.*}). */
    public RabbitMqBroker(long maxMessageBytes, List<String> moreConfig) throws IOException {
        if (!Files.isExecutable(SERVER)) {
            throw new IllegalStateException(SERVER + " is missing: install Debian's rabbitmq-server (apt-get install -y rabbitmq-server; .ci/run does)");
        }
        home = Files.createTempDirectory("pgrouter-rabbitmq");
        port = Ports.free();
        distPort = Ports.free();
        epmdPort = Ports.free();
        node = "pgrouter" + port + "@localhost";
        Files.writeString(home.resolve("rabbitmq.conf"), String.join("\n",
                "listeners.tcp.default = 127.0.0.1:" + port,
                "loopback_users = none",
                "max_message_size = " + maxMessageBytes,
                "log.console = false",
                "log.file.level = warning",
                // a small test machine: the default disk alarm (50 MB free) is fine, the memory alarm must not trip under load
                "vm_memory_high_watermark.relative = 0.8", String.join("\n", moreConfig), ""));
        // the consistent-hash exchange ships with the server: consumers that share a stream by subject
        Files.writeString(home.resolve("enabled_plugins"), "[rabbitmq_consistent_hash_exchange].\n");
        if (isRoot()) run("chown", "-R", "rabbitmq:rabbitmq", home.toString());
    }

    public int port() {
        return port;
    }

    /** Its folder, readable by the broker (files its configuration names go here). */
    public Path home() {
        return home;
    }

    public String url() {
        return "amqp://127.0.0.1:" + port + "/%2F";
    }

    /** Starts the broker and returns once it accepts AMQP connections. */
    public synchronized RabbitMqBroker start() throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("unshare", "--pid", "--fork", "--kill-child"));
        if (isRoot()) command.addAll(List.of("runuser", "-u", "rabbitmq", "--"));
        command.add(SERVER.toString());
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(home.resolve("console.log").toFile());
        Map<String, String> env = pb.environment();
        env.put("HOME", home.toString());
        env.put("RABBITMQ_NODENAME", node);
        env.put("RABBITMQ_NODE_PORT", Integer.toString(port));
        env.put("RABBITMQ_DIST_PORT", Integer.toString(distPort));
        env.put("ERL_EPMD_PORT", Integer.toString(epmdPort));
        env.put("RABBITMQ_CONFIG_FILE", home.resolve("rabbitmq").toString());
        env.put("RABBITMQ_ENABLED_PLUGINS_FILE", home.resolve("enabled_plugins").toString());
        env.put("RABBITMQ_MNESIA_BASE", home.resolve("mnesia").toString());
        env.put("RABBITMQ_LOG_BASE", home.resolve("log").toString());
        process = pb.start();
        long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        while (!accepts()) {
            if (!process.isAlive()) throw new IllegalStateException("rabbitmq-server exited: " + tail());
            if (System.nanoTime() > deadline) throw new IllegalStateException("rabbitmq-server did not open port " + port + " in 90 s: " + tail());
            Thread.sleep(100);
        }
        return this;
    }

    /**
     * Runs {@code rabbitmqctl} against this node (as the broker's user, with its cookie): {@code set_disk_free_limit}
     * raises or clears the disk alarm as a broker whose disk fills up would.
     */
    public void ctl(String... args) throws IOException {
        List<String> command = new ArrayList<>();
        if (isRoot()) command.addAll(List.of("runuser", "-u", "rabbitmq", "--"));
        command.addAll(List.of(SERVER.resolveSibling("rabbitmqctl").toString(), "-n", node));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().put("HOME", home.toString());
        pb.environment().put("ERL_EPMD_PORT", Integer.toString(epmdPort));
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        try {
            if (p.waitFor() != 0) throw new IOException(String.join(" ", command) + " failed: " + out);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
    }

    /** Stops the broker the way its service would (SIGTERM to the Erlang VM) and waits until it is gone. */
    public synchronized void stop() throws InterruptedException {
        if (process == null) return;
        process.descendants().filter(p -> p.info().command().map(c -> c.endsWith("beam.smp")).orElse(false)).forEach(ProcessHandle::destroy);
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly(); // --kill-child: the namespace, epmd included, goes with it
            process.waitFor(10, TimeUnit.SECONDS);
        }
        process = null;
    }

    @Override
    public void close() throws Exception {
        stop();
        if (isRoot() || Files.exists(home)) Dirs.deleteTree(home);
    }

    private boolean accepts() {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 200);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private String tail() {
        try {
            String log = Files.readString(home.resolve("console.log"));
            return log.length() > 2000 ? log.substring(log.length() - 2000) : log;
        } catch (IOException e) {
            return "(no console output)";
        }
    }

    private static boolean isRoot() {
        return "root".equals(System.getProperty("user.name"));
    }

    private static void run(String... command) throws IOException {
        try {
            Process p = new ProcessBuilder(command).inheritIO().start();
            if (p.waitFor() != 0) throw new IOException(String.join(" ", command) + " failed");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
    }
}
