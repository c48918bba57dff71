package io.pgrouter.dryrun;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;

import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.MessageHistory;
import org.apache.camel.NamedNode;
import org.apache.camel.spi.CamelEvent;
import org.apache.camel.spi.Resource;
import org.apache.camel.support.EventNotifierSupport;
import org.apache.camel.support.PluginHelper;
import org.apache.camel.support.ResourceHelper;
import org.apache.camel.support.service.ServiceHelper;

import io.pgrouter.delivery.DryRun;
import io.pgrouter.delivery.RoutedExchange;
import io.pgrouter.event.CanonicalEvent;
import io.pgrouter.event.EventBody;
import io.pgrouter.source.EventDispatcher;
import io.pgrouter.source.EventSource;
import io.pgrouter.source.PgComponent;
import io.pgrouter.source.PgConsumer;
import io.pgrouter.source.PgEndpoint;

/**
 * {@code bin/pgrouter routes test}, inside the application: the route files are loaded into the running Camel context
 * (the real {@code pg:} subscriptions, Kamelets, filters and transforms), the recorded events are handed to every route
 * that subscribes to them, one event and one route at a time, and every sink's transport hands what it would send to
 * this capture ({@link DryRun}). The report is one text file per route and sink, plus what each route dropped (and at
 * which step) and what would have gone to dead letters.
 */
public final class RoutesDryRun implements DryRun.Capture, EventSource {

    /** System property set by {@code bin/pgrouter routes test}: the recorded events (JSON Lines). */
    public static final String EVENTS = "pgrouter.test.events";
    /** System property set by {@code bin/pgrouter routes test}: the routes folder to test. */
    public static final String ROUTES = "pgrouter.test.routes";
    /** System property set by {@code bin/pgrouter routes test}: the folder the report is written to. */
    public static final String OUT = "pgrouter.test.out";

    private final CamelContext camel;
    private final EventDispatcher dispatcher;
    private final List<PgConsumer> consumers = new CopyOnWriteArrayList<>();
    /** route id -> report file name -> its text */
    private final Map<String, Map<String, StringBuilder>> report = new TreeMap<>();
    private volatile String route;
    private volatile CanonicalEvent event;
    private volatile String eventHeading;
    private volatile NamedNode lastStep;

    public RoutesDryRun(CamelContext camel, EventDispatcher dispatcher) {
        this.camel = camel;
        this.dispatcher = dispatcher;
    }

    /** @return the exit code: 0 when the report is written, 1 when a route file or an event cannot be read */
    public int run(Path routes, Path events, Path out, PrintStream err) throws Exception {
        DryRun.start(this);
        camel.getComponent("pg", PgComponent.class).replaceSources(this);
        LastStep steps = new LastStep();
        camel.getManagementStrategy().addEventNotifier(steps);
        ServiceHelper.startService(steps);
        if (!load(routes, err)) return 1;
        List<CanonicalEvent> recorded = read(events, err);
        if (recorded == null) return 1;
        consumers.sort(Comparator.comparing(PgConsumer::getRouteId));
        int sent = 0;
        for (CanonicalEvent e : recorded) {
            for (PgConsumer consumer : consumers) {
                if (!consumer.subscription().matches(e) || !ofKind(consumer, e)) continue;
                sent++;
                route(consumer, e);
            }
        }
        Files.createDirectories(out);
        for (var byRoute : report.entrySet()) {
            Path folder = out.resolve(byRoute.getKey());
            Files.createDirectories(folder);
            for (var file : byRoute.getValue().entrySet()) {
                Files.writeString(folder.resolve(file.getKey() + ".txt"), file.getValue().toString(), StandardCharsets.UTF_8);
            }
        }
        err.println(events + ": " + recorded.size() + " event(s), " + sent + " handed to a route");
        return 0;
    }

    /** A pg:notify route takes notifications; pg:wal (and a second tier's pg:kafka) row changes and logical-decoding messages. */
    private static boolean ofKind(PgConsumer consumer, CanonicalEvent e) {
        boolean notify = e.op() == io.pgrouter.event.Op.NOTIFY;
        return notify == (consumer.getEndpoint().getKind() == PgEndpoint.Kind.NOTIFY);
    }

    private void route(PgConsumer consumer, CanonicalEvent e) throws Exception {
        route = consumer.getRouteId();
        event = e;
        eventHeading = "=== event " + e.id() + " (" + e.type() + (e.table() == null ? "" : " " + e.qualifiedTable())
                + (e.channel() == null ? "" : " channel " + e.channel()) + (e.subject() == null ? "" : " subject " + e.subject()) + ")\n";
        lastStep = null;
        PgConsumer.Delivery delivery = consumer.deliver(new EventBody(e), 0);
        Exception failure = delivery.failure();
        if (failure == null) {
            try {
                dispatcher.flushAll(); // a sink that batches sends now, for this event and this route
            } catch (Exception atBatchEnd) {
                failure = atBatchEnd;
            }
        }
        if (failure != null) {
            append("dead-letters", "would go to dead letters: " + oneLine(failure) + "\n");
        } else if (!delivery.reachedSink()) {
            NamedNode step = lastStep;
            append("filtered", "dropped" + (step == null ? " before any step" : " after step " + describe(step)) + "\n");
        }
    }

    private static String describe(NamedNode step) {
        String where = step.getLocation() == null ? "" : " (" + shortLocation(step.getLocation()) + (step.getLineNumber() > 0 ? ":" + step.getLineNumber() : "") + ")";
        // Camel's label names the step and its expression (filter[jsonpath{...}]), or just the step (stop)
        return (step.getLabel() == null ? step.getShortName() : step.getLabel()) + where;
    }

    /** The route file's name, not the folder it was tested from: the report is the same wherever it runs. */
    private static String shortLocation(String location) {
        String plain = location.startsWith("file:") ? location.substring(5) : location;
        return plain.substring(plain.lastIndexOf('/') + 1);
    }

    private static String oneLine(Throwable e) {
        String message = e.getMessage() == null ? e.toString() : e.getMessage();
        return message.strip().replaceAll("\\s*\\R\\s*", " ");
    }

    @Override
    public synchronized void sent(String sink, String text) {
        append(sink, text);
    }

    private synchronized void append(String file, String text) {
        StringBuilder b = report.computeIfAbsent(route, r -> new TreeMap<>()).computeIfAbsent(file, f -> new StringBuilder());
        if (b.length() > 0) b.append('\n');
        b.append(eventHeading).append(text);
    }

    @Override
    public long epochMillis() {
        CanonicalEvent e = event;
        return e == null || e.time() == null ? 0 : Instant.parse(e.time()).toEpochMilli();
    }

    @Override
    public void subscribe(PgConsumer consumer) {
        consumers.add(consumer);
    }

    @Override
    public void unsubscribe(PgConsumer consumer) {
        consumers.remove(consumer);
    }

    private boolean load(Path dir, PrintStream err) throws IOException {
        List<Path> files = new ArrayList<>();
        try (var list = Files.list(dir)) {
            list.filter(p -> p.getFileName().toString().endsWith(".yaml") && !p.getFileName().toString().startsWith(".") && Files.isRegularFile(p))
                    .sorted().forEach(files::add);
        }
        var loader = PluginHelper.getRoutesLoader(camel);
        boolean ok = true;
        for (Path file : files) {
            try {
                Resource resource = ResourceHelper.fromString("file:" + file, Files.readString(file, StandardCharsets.UTF_8));
                loader.updateRoutes(List.of(resource));
            } catch (Exception e) {
                err.println(file + ": " + io.pgrouter.log.StartupProblem.describe(e).replace('\n', ' ').trim());
                ok = false;
            }
        }
        if (ok && consumers.isEmpty()) {
            err.println(dir + ": no route subscribes to pg:wal or pg:notify");
            return false;
        }
        return ok;
    }

    private static List<CanonicalEvent> read(Path file, PrintStream err) throws IOException {
        List<CanonicalEvent> events = new ArrayList<>();
        int n = 0;
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            n++;
            if (line.isBlank()) continue;
            try {
                events.add(CanonicalEvent.fromJson(line));
            } catch (Exception e) {
                String why = oneLine(e).replaceAll(" at \\[Source.*", ""); // Jackson's position: the line is named already
                err.println(file + ":" + n + ": not a recorded event (" + why + "); record events with bin/pgrouter events record");
                return null;
            }
        }
        return events;
    }

    /** The last step each routed event went through (Camel's message history), to say where a route dropped it. */
    private final class LastStep extends EventNotifierSupport {

        LastStep() {
            setIgnoreCamelContextEvents(true);
            setIgnoreRouteEvents(true);
            setIgnoreServiceEvents(true);
            setIgnoreExchangeCreatedEvent(true);
            setIgnoreExchangeSendingEvents(true);
            setIgnoreExchangeSentEvents(true);
            setIgnoreExchangeRedeliveryEvents(true);
            setIgnoreStepEvents(true);
        }

        @Override
        public void notify(CamelEvent e) {
            if (!(e instanceof CamelEvent.ExchangeEvent ee)) return;
            Exchange exchange = ee.getExchange();
            if (exchange.getProperty(RoutedExchange.ROUTE_ID) == null) return;
            @SuppressWarnings("unchecked")
            List<MessageHistory> history = exchange.getProperty(Exchange.MESSAGE_HISTORY, List.class);
            if (history != null && !history.isEmpty()) lastStep = history.get(history.size() - 1).getNode();
        }
    }
}
