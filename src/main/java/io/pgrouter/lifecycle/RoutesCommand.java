package io.pgrouter.lifecycle;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code bin/pgrouter routes check [DIR]}. */
@Command(name = "routes", mixinStandardHelpOptions = true, description = "Route files: check them, and test them on recorded events, before deploying.",
        subcommands = { RoutesCommand.Check.class, RoutesTestCommand.class })
public final class RoutesCommand {

    @Command(name = "check", mixinStandardHelpOptions = true,
            description = "Checks every route file of a folder against this application and the configured database: "
                    + "YAML and Camel's YAML DSL, pg: options, Kamelets and their parameters, placeholders, the tables of "
                    + "pg:wal routes. Prints every problem as file:line: message. Starts no source, reads and sends no event.",
            footer = { "", "Exit codes: 0 every file is fine, 1 a file has a problem, 2 the folder cannot be read.", "",
                    "Example (a pre-commit hook, a CI job, an init container):", "  bin/pgrouter routes check routes/" })
    static final class Check implements Callable<Integer> {

        @Parameters(index = "0", arity = "0..1", defaultValue = "routes", description = "the routes folder (default: ${DEFAULT-VALUE})")
        Path dir;

        @Override
        public Integer call() throws Exception {
            if (!Files.isDirectory(dir)) {
                System.err.println("routes check: " + dir + " is not a folder");
                return 2;
            }
            // the application itself does the check: the same components, Kamelets and settings as the router
            // the application itself does the check: the same components, Kamelets and settings as the router; no JMX
            return runApplication(List.of("-D" + RouterLifecycle.CHECK + "=" + dir.toAbsolutePath(), "-Dcamel.main.jmx-enabled=false"));
        }
    }

    /**
     * Runs the packaged application in a process of its own with the command's settings (and every pgrouter., quarkus.
     * and camel. system property of this one), with no route of its own folder, no web port and warnings only in its log,
     * and returns its exit code.
     */
    static int runApplication(List<String> settings) throws Exception {
        Path app = Path.of(RoutesCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI()).getParent().getParent();
        Path empty = Files.createTempDirectory("pgrouter-routes");
        try {
            // a short-lived JVM: the quick compiler only (C2 would not pay back in a few seconds) and the serial collector
            List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"));
            System.getProperties().stringPropertyNames().stream()
                    .filter(k -> k.startsWith("pgrouter.") || k.startsWith("quarkus.") || k.startsWith("camel."))
                    .forEach(k -> command.add("-D" + k + "=" + System.getProperty(k)));
            command.addAll(List.of("-Dpgrouter.routes.dir=" + empty, "-Dpgrouter.routes.reload=false", "-Dquarkus.http.port=0",
                    "-Dquarkus.log.level=WARN", "-Dquarkus.log.category.\"io.pgrouter\".level=WARN"));
            command.addAll(settings); // a later -D wins
            command.addAll(List.of("-jar", app.resolve("quarkus-run.jar").toString()));
            return new ProcessBuilder(command).inheritIO().start().waitFor();
        } finally {
            Files.deleteIfExists(empty);
        }
    }
}
