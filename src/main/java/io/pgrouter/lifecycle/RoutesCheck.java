package io.pgrouter.lifecycle;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

import org.apache.camel.CamelContext;
import org.apache.camel.Route;
import org.apache.camel.spi.Resource;
import org.apache.camel.support.PluginHelper;
import org.apache.camel.support.ResourceHelper;

import io.pgrouter.log.StartupProblem;

/**
 * {@code bin/pgrouter routes check [DIR]}: every route file of a folder is loaded into the running application on
 * its own (parsed, its routes created and started: placeholders resolved, Kamelet parameters checked, the tables of
 * {@code pg:wal} routes looked up in the configured database) and removed again; the sources never start, no event
 * is read or sent. Every file's problem is reported, not only the first.
 */
final class RoutesCheck {

    private final CamelContext camel;
    private final Path dir;

    RoutesCheck(CamelContext camel, Path dir) {
        this.camel = camel;
        this.dir = dir;
    }

    /** @return the exit code: 0 when every file is fine, 1 when one is not, 2 when the folder cannot be read */
    int run(PrintStream out) {
        List<Path> files = new ArrayList<>();
        try (var list = Files.list(dir)) {
            list.filter(p -> p.getFileName().toString().endsWith(".yaml") && !p.getFileName().toString().startsWith(".") && Files.isRegularFile(p))
                    .sorted().forEach(files::add);
        } catch (IOException e) {
            out.println(dir + ": cannot read the routes folder (" + e.getMessage() + ")");
            return 2;
        }
        long started = System.nanoTime();
        var loader = PluginHelper.getRoutesLoader(camel);
        int problems = 0, routes = 0;
        for (Path file : files) {
            Set<String> before = ids();
            try {
                Resource resource = ResourceHelper.fromString("file:" + file, Files.readString(file, StandardCharsets.UTF_8));
                Set<String> loaded = loader.updateRoutes(List.of(resource));
                routes += loaded.size();
                if (loaded.isEmpty()) {
                    problems++;
                    out.println(file + ": no route in this file");
                }
            } catch (Exception e) {
                problems++;
                out.println(oneLine(file, StartupProblem.describe(e), failedStepLine(e)));
            } finally {
                Set<String> added = ids();
                added.removeAll(before);
                for (String id : added) {
                    try {
                        RoutesReloader.remove(camel, id);
                    } catch (Exception ignored) {
                        // the check is over for this file either way
                    }
                }
            }
        }
        if (problems == 0) {
            out.println(dir + ": " + files.size() + " route file(s), " + routes + " route(s): OK (checked in "
                    + (System.nanoTime() - started) / 1_000_000 + " ms once the application had started)");
            return 0;
        }
        out.println(dir + ": " + problems + " of " + files.size() + " route file(s) have a problem");
        return 1;
    }

    /** {@code file:line: message} when the message names the line (or the failed step's line is known), else {@code file: message}. */
    static String oneLine(Path file, String message, int stepLine) {
        String text = message.replace('\n', ' ').trim();
        var line = java.util.regex.Pattern.compile(java.util.regex.Pattern.quote(file.toString()) + ":(\\d+)").matcher(text);
        if (line.find()) return file + ":" + line.group(1) + ": " + text;
        var routeLine = java.util.regex.Pattern.compile("\\.yaml:(\\d+)").matcher(text);
        if (routeLine.find()) return file + ":" + routeLine.group(1) + ": " + text;
        return file + (stepLine > 0 ? ":" + stepLine : "") + ": " + text;
    }

    /** Camel names the step that failed (">>> to[uri] <<<") but not its line (a Kamelet's parameters): its line in the route file, or -1. */
    private int failedStepLine(Throwable failure) {
        for (Throwable t = failure; t != null && t.getCause() != t; t = t.getCause()) {
            if (!(t instanceof org.apache.camel.FailedToCreateRouteException f) || f.getRouteId() == null) continue;
            var model = camel.getCamelContextExtension().getContextPlugin(org.apache.camel.model.Model.class);
            var route = model == null ? null : model.getRouteDefinition(f.getRouteId());
            var step = java.util.regex.Pattern.compile(">>> \\w+\\[(.*?)] <<<").matcher(String.valueOf(f.getMessage()));
            if (route == null || !step.find()) return -1;
            return lineOf(route.getOutputs(), step.group(1));
        }
        return -1;
    }

    private static int lineOf(List<org.apache.camel.model.ProcessorDefinition<?>> steps, String uri) {
        for (var s : steps) {
            if (s instanceof org.apache.camel.model.SendDefinition<?> send && send.getEndpointUri() != null && uri.startsWith(send.getEndpointUri())
                    && s.getLineNumber() > 0) {
                return s.getLineNumber();
            }
            int inner = lineOf(s.getOutputs(), uri);
            if (inner > 0) return inner;
        }
        return -1;
    }

    private Set<String> ids() {
        Set<String> ids = new LinkedHashSet<>();
        for (Route r : camel.getRoutes()) ids.add(r.getRouteId());
        return ids;
    }
}
