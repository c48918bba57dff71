package io.pgrouter.lifecycle;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

import com.github.difflib.DiffUtils;
import com.github.difflib.UnifiedDiffUtils;

import io.pgrouter.config.CommandConfig;
import io.pgrouter.dryrun.RoutesDryRun;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code bin/pgrouter routes test --events events.jsonl [--routes DIR] [--kamelets DIR] [--expect DIR [--update]]}. */
@Command(name = "test", mixinStandardHelpOptions = true,
        description = "Runs the route files on recorded events (bin/pgrouter events record) with every sink replaced by a capture of "
                + "exactly what it would send: the webhook's request with its signature headers, the JMS, Kafka and RabbitMQ message "
                + "with its destination, key and properties, the search bulk actions and documents, the lake file's partition and rows, "
                + "the email with its recipients. Nothing is sent anywhere and no source starts.",
        footer = { "", "The report is one file per route and sink (<route>/<sink>.txt), plus <route>/filtered.txt (the events a route "
                        + "dropped, and after which step) and <route>/dead-letters.txt (the events that would fail). Without --expect "
                        + "it is printed; with --expect it is compared with the files in that folder, and with --update it is written there.", "",
                "PostgreSQL is asked only where a sink itself looks something up: the email sink's recipientsQuery, and the lake "
                        + "sink's table columns (update and delete rows, Parquet files). Configure pgrouter.postgres.* for those.",
                "", "Exit codes: 0 the report is printed, written, or the same as --expect; 1 it differs from --expect (a unified diff "
                + "on stdout), or a route file or event cannot be read; 2 the command line is wrong.", "",
                "Example (a CI job):", "  bin/pgrouter events record --tables shop.orders --snapshot --limit 20 --out test/events.jsonl",
                "  bin/pgrouter routes test --events test/events.jsonl --routes routes/ --expect test/expected --update   # once, reviewed",
                "  bin/pgrouter routes test --events test/events.jsonl --routes routes/ --expect test/expected            # on every change" })
final class RoutesTestCommand implements Callable<Integer> {

    @Option(names = "--events", required = true, paramLabel = "FILE", description = "Recorded events, one JSON event per line.")
    Path events;

    @Option(names = "--routes", paramLabel = "DIR", defaultValue = "routes", description = "The routes folder. Default: ${DEFAULT-VALUE}.")
    Path routes;

    @Option(names = "--kamelets", paramLabel = "DIR", description = "The Kamelets folder. Default: pgrouter.kamelets.dir, else kamelets.")
    Path kamelets;

    @Option(names = "--expect", paramLabel = "DIR", description = "Golden report files to compare with. Default: none (the report is printed).")
    Path expect;

    @Option(names = "--update", description = "Write the report into the --expect folder instead of comparing. Default: compare.")
    boolean update;

    @Override
    public Integer call() throws Exception {
        PrintStream out = System.out;
        if (!Files.isRegularFile(events)) return wrong(events + " is not a file: record events with bin/pgrouter events record");
        if (!Files.isDirectory(routes)) return wrong(routes + " is not a folder");
        if (kamelets != null && !Files.isDirectory(kamelets)) return wrong(kamelets + " is not a folder");
        if (update && expect == null) return wrong("--update needs --expect DIR (the folder to write the report to)");
        Path report = Files.createTempDirectory("pgrouter-test");
        try {
            List<String> settings = new ArrayList<>(List.of("-D" + RoutesDryRun.EVENTS + "=" + events.toAbsolutePath(),
                    "-D" + RoutesDryRun.ROUTES + "=" + routes.toAbsolutePath(), "-D" + RoutesDryRun.OUT + "=" + report,
                    // which step dropped an event: Camel's message history
                    "-Dcamel.main.message-history=true",
                    // what fails is in the report (dead-letters.txt): the log keeps to errors, without Camel's trace of each
                    "-Dquarkus.log.level=ERROR", "-Dquarkus.log.category.\"io.pgrouter\".level=ERROR",
                    "-Dquarkus.log.category.\"org.apache.camel.processor.errorhandler\".level=OFF"));
            if (kamelets != null) settings.add("-Dpgrouter.kamelets.dir=" + kamelets.toAbsolutePath());
            // the application needs a database setting to start; without one, only a sink that looks something up fails
            if (CommandConfig.value("pgrouter.postgres.url", null) == null) settings.add("-Dpgrouter.postgres.url=jdbc:postgresql://127.0.0.1:1/not-configured");
            int code = RoutesCommand.runApplication(settings);
            if (code != 0) return 1;
            List<String> files = files(report);
            if (expect == null) {
                for (String f : files) {
                    out.println("##### " + f);
                    out.print(Files.readString(report.resolve(f), StandardCharsets.UTF_8));
                    out.println();
                }
                return 0;
            }
            if (update) {
                for (String old : files(expect)) Files.delete(expect.resolve(old));
                for (String f : files) {
                    Files.createDirectories(expect.resolve(f).getParent());
                    Files.copy(report.resolve(f), expect.resolve(f));
                }
                out.println("routes test: wrote " + files.size() + " report file(s) to " + expect);
                return 0;
            }
            return compare(report, files, out);
        } finally {
            delete(report);
        }
    }

    /** Prints a unified diff per report file that differs from its golden file; 1 if any does. */
    private int compare(Path report, List<String> files, PrintStream out) throws IOException {
        TreeSet<String> all = new TreeSet<>(files);
        all.addAll(Files.isDirectory(expect) ? files(expect) : List.of());
        int differ = 0;
        for (String f : all) {
            List<String> expected = lines(expect.resolve(f));
            List<String> actual = lines(report.resolve(f));
            var patch = DiffUtils.diff(expected, actual);
            if (patch.getDeltas().isEmpty()) continue;
            differ++;
            String a = Files.exists(expect.resolve(f)) ? expect.resolve(f).toString() : "/dev/null";
            String b = Files.exists(report.resolve(f)) ? "routes test/" + f : "/dev/null";
            for (String line : UnifiedDiffUtils.generateUnifiedDiff(a, b, expected, patch, 3)) out.println(line);
        }
        if (differ == 0) {
            out.println("routes test: " + all.size() + " report file(s), the same as " + expect);
            return 0;
        }
        out.println("routes test: " + differ + " of " + all.size() + " report file(s) differ from " + expect
                + " (if the change is intended: the same command with --update)");
        return 1;
    }

    private static List<String> lines(Path file) throws IOException {
        return Files.exists(file) ? Files.readAllLines(file, StandardCharsets.UTF_8) : List.of();
    }

    /** The report files under a folder, as {@code <route>/<file>.txt}, sorted. */
    private static List<String> files(Path root) throws IOException {
        if (!Files.isDirectory(root)) return List.of();
        try (Stream<Path> walk = Files.walk(root, 2)) {
            return walk.filter(p -> Files.isRegularFile(p) && p.getFileName().toString().endsWith(".txt") && p.getParent() != null
                    && !p.getParent().equals(root)).map(p -> root.relativize(p).toString().replace('\\', '/')).sorted().toList();
        }
    }

    private static int wrong(String message) {
        System.err.println("routes test: " + message);
        return 2;
    }

    private static void delete(Path root) throws IOException {
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }
}
