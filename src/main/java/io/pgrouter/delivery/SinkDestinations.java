package io.pgrouter.delivery;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import jakarta.inject.Singleton;

import org.jboss.logging.Logger;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * Whether each sink destination (a webhook URL, a broker queue, a search cluster...) is known to be down, shared by
 * every route and endpoint that sends there. A destination is down once a delivery spent its in-line retries; while it
 * is down, new events go to the retry store at once (the source moves at its own pace), and the retry worker's attempts
 * are the probes: the first that succeeds marks it up. Shown in readiness data and as the gauge
 * {@code pgrouter_sink_down{sink,destination}}.
 */
@Singleton
public class SinkDestinations {

    private static final Logger LOG = Logger.getLogger(SinkDestinations.class);

    /** One destination of one sink. */
    public static final class Destination {
        private final String sink;
        private final String name;
        private volatile long downSince;
        /** Events sent straight to the retry store since the destination went down (logged when it is back). */
        private final AtomicLong parkedWhileDown = new AtomicLong();
        /** In-line attempts in progress: the thread and since when. */
        private final Map<Thread, Long> attempts = new ConcurrentHashMap<>();
        /** Set by the WAL retention guard's park policy: new events go to the retry store while it holds the slot back. */
        private volatile boolean parkedForLag;

        Destination(String sink, String name) {
            this.sink = sink;
            this.name = name;
        }

        public String sink() {
            return sink;
        }

        /** The destination as shown in logs, health and metrics, without credentials. */
        public String name() {
            return name;
        }

        public boolean isDown() {
            return downSince != 0;
        }

        /** When it went down, or null while it is up. */
        public Instant downSince() {
            long since = downSince;
            return since == 0 ? null : Instant.ofEpochMilli(since);
        }

        public long parkedWhileDown() {
            return parkedWhileDown.get();
        }

        void parkedWhileDown(int events) {
            parkedWhileDown.addAndGet(events);
        }

        void attemptStarts() {
            attempts.put(Thread.currentThread(), System.currentTimeMillis());
        }

        void attemptEnds() {
            attempts.remove(Thread.currentThread());
        }

        /** How long the oldest in-line attempt in progress has been waiting for the destination; 0 when none. */
        long attemptWaitingMs() {
            long oldest = Long.MAX_VALUE;
            for (long since : attempts.values()) oldest = Math.min(oldest, since);
            return oldest == Long.MAX_VALUE ? 0 : System.currentTimeMillis() - oldest;
        }

        /** Whether new events go to the retry store: the destination is down, or parked by the retention guard. */
        public boolean parksNewEvents() {
            return downSince != 0 || parkedForLag;
        }

        /** A delivery spent its in-line retries: new events go to the retry store until a probe succeeds. */
        synchronized void down(String why) {
            if (downSince != 0) return;
            downSince = System.currentTimeMillis();
            parkedWhileDown.set(0);
            LOG.warnf("%s is down (%s): new events go to the retry store until it answers again; the retry worker probes it", name, why);
        }

        /** An attempt succeeded: events flow directly again. */
        synchronized void up() {
            if (downSince == 0) return;
            LOG.infof("%s answers again after %d s: events flow directly; %d events that arrived meanwhile are re-sent from the retry store", name,
                    (System.currentTimeMillis() - downSince) / 1000, parkedWhileDown.get());
            downSince = 0;
        }
    }

    private final MeterRegistry metrics;
    private final Map<String, Destination> destinations = new ConcurrentHashMap<>();

    public SinkDestinations(MeterRegistry metrics) {
        this.metrics = metrics;
    }

    /** The one state of a destination, whichever route or endpoint sends there. */
    public Destination of(String sink, String name) {
        return destinations.computeIfAbsent(sink + '\n' + name, k -> {
            Destination d = new Destination(sink, name);
            Gauge.builder("pgrouter.sink.down", d, x -> x.isDown() ? 1 : 0).tag("sink", sink).tag("destination", name)
                    .description("1 while the sink's destination is down (new events wait in the retry store), else 0").register(metrics);
            return d;
        });
    }

    /**
     * The WAL retention guard's park policy (pgrouter.wal.on-max-lag=park), called while a batch holds the slot back:
     * every destination with an in-line attempt waiting longer than {@code slowMs} (the batch waits for it) parks its
     * new events in the retry store from now on, so the stream (and the slot) moves on while the retry worker sends
     * them at the destination's pace. Returns the destinations parked now or before.
     */
    public List<String> parkSlow(long slowMs) {
        List<String> parked = new ArrayList<>();
        for (Destination d : destinations.values()) {
            if (!d.parkedForLag && d.attemptWaitingMs() > slowMs) {
                d.parkedForLag = true;
                LOG.warnf("%s holds the WAL slot back: its new events go to the retry store until the slot is within its limits again "
                        + "(pgrouter.wal.on-max-lag=park)", d.name());
            }
            if (d.parkedForLag) parked.add(d.name());
        }
        return parked;
    }

    /** The slot is within its limits again: destinations the park policy parked take new events directly again. */
    public void stopParkingSlow() {
        for (Destination d : destinations.values()) {
            if (!d.parkedForLag) continue;
            d.parkedForLag = false;
            LOG.infof("%s takes new events directly again: the WAL slot is within its limits", d.name());
        }
    }

    /** A destination that is down, as read at one moment. */
    public record Down(String sink, String destination, Instant since, long parkedSince) {
    }

    /** The destinations down now, longest first. */
    public List<Down> down() {
        List<Down> down = new ArrayList<>();
        for (Destination d : destinations.values()) {
            Instant since = d.downSince();
            if (since != null) down.add(new Down(d.sink(), d.name(), since, d.parkedWhileDown()));
        }
        down.sort(Comparator.comparing(Down::since));
        return down;
    }
}
