package io.pgrouter.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** The packaged router (target/quarkus-app/quarkus-run.jar) as its own process, as users run it. */
public final class RouterProcess implements AutoCloseable {

    private final Process process;
    private final Path output;

    private RouterProcess(Process process, Path output) {
        this.process = process;
        this.output = output;
    }

    /**
     * Starts the jar as a user does: from a folder of its own outside the repository (so nothing is read from the
     * checkout by accident), with a copy of the repository's {@code routes/} there unless the config names a folder.
     */
    public static RouterProcess start(Map<String, String> config) throws IOException {
        return start(config, List.of());
    }

    /** @param launcher a command the java command is handed to, such as {@code ip netns exec <namespace>} */
    public static RouterProcess start(Map<String, String> config, List<String> launcher) throws IOException {
        Path jar = Path.of("target", "quarkus-app", "quarkus-run.jar").toAbsolutePath();
        if (!Files.exists(jar)) throw new IllegalStateException(jar + " is missing: run mvn verify (package builds it)");
        Path workDir = Files.createTempDirectory("router-run");
        if (!config.containsKey("pgrouter.routes.dir")) copy(Path.of("routes"), workDir.resolve("routes"));
        List<String> command = new ArrayList<>(launcher);
        command.addAll(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m"));
        config.forEach((k, v) -> command.add("-D" + k + "=" + v));
        command.add("-jar");
        command.add(jar.toString());
        Path output = Files.createTempFile("router", ".log");
        Process p = new ProcessBuilder(command).directory(workDir.toFile()).redirectErrorStream(true).redirectOutput(output.toFile()).start();
        return new RouterProcess(p, output);
    }

    private static void copy(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (var files = Files.list(from)) {
            for (Path f : (Iterable<Path>) files::iterator) Files.copy(f, to.resolve(f.getFileName()));
        }
    }

    public String output() {
        try {
            return Files.readString(output);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** Waits for the process to end by itself and returns its exit code. */
    public int exitCode(long seconds) throws InterruptedException {
        if (!process.waitFor(seconds, TimeUnit.SECONDS)) {
            throw new IllegalStateException("router still running after " + seconds + " s:\n" + output());
        }
        return process.exitValue();
    }

    /** kill -9: no shutdown hook, no offset flush. */
    public void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(30, TimeUnit.SECONDS)) kill();
    }
}
