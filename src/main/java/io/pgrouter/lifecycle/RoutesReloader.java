package io.pgrouter.lifecycle;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.camel.CamelContext;
import org.apache.camel.Route;
import org.apache.camel.spi.Resource;
import org.apache.camel.support.PluginHelper;
import org.apache.camel.support.ResourceHelper;
import org.jboss.logging.Logger;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.pgrouter.config.RoutesConfig;
import io.pgrouter.log.StartupProblem;

/**
 * Applies changes to the route files while the router runs. The folder is compared with what runs every
 * {@code pgrouter.routes.reload-interval-ms} by content (so an edit, a new or removed file and a Kubernetes ConfigMap
 * update, which swaps a {@code ..data} symlink, all count; a touch does not). A change is applied between two batches
 * of every source ({@link RouterLifecycle#applyRoutes}): only the routes of changed files are replaced. A change that
 * does not parse or whose routes do not start is refused: the routes that ran before run again, and the reason is in
 * the log, in the health data of {@code pgrouter-routes} and in {@code pgrouter_routes_refused} until a good version
 * arrives.
 */
final class RoutesReloader {

    private static final Logger LOG = Logger.getLogger(RoutesReloader.class);

    private final RoutesConfig config;
    private final RouterLifecycle lifecycle;
    private final CamelContext camel;
    private final Path dir;
    /** The Kamelets folder ({@code pgrouter.kamelets.dir}): a changed Kamelet restarts the routes that use it. */
    private final Path kamelets;
    /** file name -> content of what runs; Kamelet files under {@code kamelets/<name>} */
    private Map<String, String> running;
    private volatile String version;
    private volatile Instant appliedAt = Instant.now();
    private volatile String refused;
    private volatile String refusedVersion;
    private final AtomicInteger refusedGauge = new AtomicInteger();
    private final Counter applied, refusals;
    private ScheduledExecutorService watch;

    RoutesReloader(RoutesConfig config, RouterLifecycle lifecycle, CamelContext camel, MeterRegistry metrics) {
        this.config = config;
        this.lifecycle = lifecycle;
        this.camel = camel;
        this.dir = Path.of(config.dir());
        this.kamelets = Path.of(org.eclipse.microprofile.config.ConfigProvider.getConfig()
                .getOptionalValue("pgrouter.kamelets.dir", String.class).orElse("kamelets"));
        this.running = read();
        this.version = version(running);
        Gauge.builder("pgrouter.routes.refused", refusedGauge, AtomicInteger::get)
                .description("1 while the route files hold a change that was refused (the previous routes run)").register(metrics);
        applied = Counter.builder("pgrouter.routes.reloads").tag("outcome", "applied").register(metrics);
        refusals = Counter.builder("pgrouter.routes.reloads").tag("outcome", "refused").register(metrics);
    }

    void start() {
        if (!config.reload()) return;
        watch = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "pgrouter-routes-watch");
            t.setDaemon(true);
            return t;
        });
        watch.scheduleWithFixedDelay(this::check, config.reloadIntervalMs(), config.reloadIntervalMs(), TimeUnit.MILLISECONDS);
    }

    void stop() {
        if (watch != null) watch.shutdownNow();
    }

    String version() {
        return version;
    }

    Map<String, String> healthData() {
        Map<String, String> data = new TreeMap<>();
        data.put("routes version", version);
        data.put("applied at", appliedAt.toString());
        data.put("folder", dir.toAbsolutePath().toString());
        data.put("kamelets folder", kamelets.toAbsolutePath().toString());
        data.put("routes running", String.valueOf(camel.getRoutes().size()));
        if (refused != null) data.put("refused version " + refusedVersion, refused);
        return data;
    }

    /**
     * The route files by name and content, as they are now, and the Kamelet files as {@code kamelets/<file>} (symlinks
     * followed: a ConfigMap's files are links); null while a folder cannot be read.
     */
    private Map<String, String> read() {
        Map<String, String> files = new TreeMap<>();
        if (!read(dir, ".yaml", "", files)) return null;
        // no Kamelets folder is fine: the built-in Kamelets come from the classpath
        if (Files.isDirectory(kamelets) && !read(kamelets, KAMELET, KAMELETS, files)) return null;
        return files;
    }

    private static final String KAMELET = ".kamelet.yaml", KAMELETS = "kamelets/";

    private static boolean read(Path folder, String suffix, String prefix, Map<String, String> files) {
        try (var list = Files.list(folder)) {
            for (Path p : (Iterable<Path>) list::iterator) {
                String name = p.getFileName().toString();
                if (name.startsWith(".") || !name.endsWith(suffix) || !Files.isRegularFile(p)) continue;
                files.put(prefix + name, Files.readString(p, StandardCharsets.UTF_8));
            }
            return true;
        } catch (IOException e) {
            // a ConfigMap update swaps the folder's link: read again at the next check
            return false;
        }
    }

    static String version(Map<String, String> files) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            files.forEach((name, content) -> {
                sha.update(name.getBytes(StandardCharsets.UTF_8));
                sha.update((byte) 0);
                sha.update(content.getBytes(StandardCharsets.UTF_8));
                sha.update((byte) 0);
            });
            return HexFormat.of().formatHex(sha.digest()).substring(0, 12);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private void check() {
        try {
            Map<String, String> now = read();
            if (now == null || running == null) {
                if (running == null) running = now;
                return;
            }
            String next = version(now);
            if (next.equals(version) || next.equals(refusedVersion)) return;
            apply(now, next);
        } catch (RuntimeException e) {
            LOG.warnf("checking the routes folder %s failed: %s", dir, e.toString());
        }
    }

    private void apply(Map<String, String> now, String next) {
        Set<String> changed = new LinkedHashSet<>(), removed = new LinkedHashSet<>(), kameletsChanged = new LinkedHashSet<>();
        now.forEach((name, content) -> {
            if (!content.equals(running.get(name))) (name.startsWith(KAMELETS) ? kameletsChanged : changed).add(name);
        });
        running.keySet().forEach(name -> {
            if (!now.containsKey(name)) (name.startsWith(KAMELETS) ? kameletsChanged : removed).add(name);
        });
        // a route file that uses a changed Kamelet is replaced too: its routes are made again from the new template
        for (String kamelet : kameletsChanged) {
            java.util.regex.Pattern uses = java.util.regex.Pattern.compile("kamelet:" + java.util.regex.Pattern.quote(templateId(kamelet)) + "(?![\\w-])");
            now.forEach((name, content) -> {
                if (!name.startsWith(KAMELETS) && uses.matcher(content).find()) changed.add(name);
            });
        }
        long started = System.nanoTime();
        try {
            lifecycle.applyRoutes(next, () -> swap(now, changed, removed, kameletsChanged));
            long pauseMs = (System.nanoTime() - started) / 1_000_000;
            running = now;
            version = next;
            appliedAt = Instant.now();
            refused = null;
            refusedVersion = null;
            refusedGauge.set(0);
            applied.increment();
            LOG.infof("routes version %s applied in %d ms (changed %s, removed %s%s)", next, pauseMs, changed, removed,
                    kameletsChanged.isEmpty() ? "" : ", Kamelets " + kameletsChanged);
        } catch (Exception e) {
            String why = StartupProblem.describe(e);
            refused = why;
            refusedVersion = next;
            refusedGauge.set(1);
            refusals.increment();
            LOG.errorf("routes version %s refused, version %s goes on running: %s", next, version, why);
            LOG.debug("the refused change", e);
        }
    }

    /**
     * Runs between two batches: replaces the routes of changed files and removes those of removed files, with the
     * templates of changed Kamelets read again; undone on failure.
     */
    private Void swap(Map<String, String> now, Set<String> changed, Set<String> removed, Set<String> kameletsChanged) throws Exception {
        var loader = PluginHelper.getRoutesLoader(camel);
        List<Resource> next = new ArrayList<>();
        for (String name : changed) next.add(ResourceHelper.fromString(location(name), now.get(name)));
        List<Resource> nextKamelets = new ArrayList<>();
        for (String name : kameletsChanged) {
            if (now.containsKey(name)) nextKamelets.add(ResourceHelper.fromString(location(name), now.get(name)));
        }
        // parse first: a file that is not a route set (or a Kamelet that is not one) changes nothing
        List<Resource> parsed = new ArrayList<>(next);
        parsed.addAll(nextKamelets);
        for (Resource r : parsed) loader.findRoutesBuilders(r).forEach(b -> {
            try {
                if (b instanceof org.apache.camel.builder.RouteBuilder rb) rb.configureRoutes(camel);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        Set<String> touched = new LinkedHashSet<>(changed);
        touched.addAll(removed);
        Map<String, Set<String>> before = routeIds(touched);
        try {
            for (Set<String> ids : before.values()) for (String id : ids) remove(id);
            replaceTemplates(kameletsChanged, now);
            if (!next.isEmpty()) loader.updateRoutes(next);
            return null;
        } catch (Exception failed) {
            // back to what ran: the new files' routes out, the old Kamelets and the old files' routes in again
            for (Set<String> ids : routeIds(touched).values()) for (String id : ids) remove(id);
            replaceTemplates(kameletsChanged, running);
            List<Resource> old = new ArrayList<>();
            for (String name : touched) {
                String content = running.get(name);
                if (content != null) old.add(ResourceHelper.fromString(location(name), content));
            }
            if (!old.isEmpty()) loader.updateRoutes(old);
            throw failed;
        }
    }

    /** The route templates of these Kamelet files as {@code files} has them (none for a file it does not have). */
    private void replaceTemplates(Set<String> kameletFiles, Map<String, String> files) throws Exception {
        var model = (org.apache.camel.model.ModelCamelContext) camel;
        for (String name : kameletFiles) {
            model.removeRouteTemplateDefinitions(templateId(name));
            // a removed file of the folder: the built-in Kamelet of that name (if any) is read from the classpath when next used
            String content = files.get(name);
            if (content != null) PluginHelper.getRoutesLoader(camel).loadRoutes(ResourceHelper.fromString(location(name), content));
        }
    }

    /** {@code kamelets/webhook-sink.kamelet.yaml} -> {@code webhook-sink}. */
    private static String templateId(String kameletFile) {
        String name = kameletFile.substring(KAMELETS.length());
        return name.substring(0, name.length() - KAMELET.length());
    }

    private void remove(String id) throws Exception {
        remove(camel, id);
    }

    private static final java.util.regex.Pattern KAMELET_ENDS = java.util.regex.Pattern.compile("kamelet:(//)?(source|sink)\\b");

    /** Stops and removes a route and the routes its Kamelets made for it (Camel leaves those running on their own). */
    static void remove(CamelContext camel, String id) throws Exception {
        camel.getRouteController().stopRoute(id);
        camel.removeRoute(id);
        // a removed route's own endpoints go with it, its kamelet: ones among them: a Kamelet's route that no kamelet:
        // endpoint names any more has lost its caller (again, for a Kamelet that calls another one)
        boolean removed = true;
        while (removed) {
            removed = false;
            Set<String> called = new java.util.HashSet<>();
            for (org.apache.camel.Endpoint e : camel.getEndpoints()) {
                // kamelet:source and kamelet:sink are the Kamelet route's own ends, not a caller
                if (e instanceof org.apache.camel.component.kamelet.KameletEndpoint k && !KAMELET_ENDS.matcher(k.getEndpointUri()).lookingAt()) {
                    called.add(k.getRouteId());
                }
            }
            for (Route route : List.copyOf(camel.getRoutes())) {
                if (route.isCreatedByKamelet() && !called.contains(route.getRouteId())) {
                    camel.getRouteController().stopRoute(route.getRouteId());
                    camel.removeRoute(route.getRouteId());
                    removed = true;
                }
            }
        }
    }

    private String location(String name) {
        return name.startsWith(KAMELETS) ? "file:" + kamelets + "/" + name.substring(KAMELETS.length()) : "file:" + config.dir() + "/" + name;
    }

    /** The ids of the running routes that came from each of these files. */
    private Map<String, Set<String>> routeIds(Set<String> names) {
        Map<String, Set<String>> ids = new TreeMap<>();
        for (Route route : camel.getRoutes()) {
            Resource source = route.getSourceResource();
            if (source == null || source.getLocation() == null) continue;
            String location = source.getLocation().replaceFirst("^file:", "");
            Path file = Path.of(location).toAbsolutePath().normalize();
            if (!file.getParent().equals(dir.toAbsolutePath().normalize())) continue;
            String name = file.getFileName().toString();
            if (names.contains(name)) ids.computeIfAbsent(name, k -> new LinkedHashSet<>()).add(route.getRouteId());
        }
        return ids;
    }
}
