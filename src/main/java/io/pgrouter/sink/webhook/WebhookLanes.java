package io.pgrouter.sink.webhook;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import io.pgrouter.delivery.SourceBuffers;

/**
 * Parallel delivery across subjects for one webhook endpoint: events are spread over {@code n} single-thread lanes
 * by subject, so one subject's events stay in order while others go in parallel. The source batch ends only once
 * every lane is idle ({@link #drain()}), so the source position never passes an event still in a lane.
 */
final class WebhookLanes {

    interface Task {
        void run() throws Exception;
    }

    private final List<ExecutorService> lanes = new ArrayList<>();
    /** Per source: its events still in a lane, and the first of them that could be neither delivered nor stored. */
    private final SourceBuffers<InFlight> sources = new SourceBuffers<>(InFlight::new);

    private static final class InFlight {
        int events;
        Exception failure;
    }

    WebhookLanes(int n) {
        for (int i = 0; i < n; i++) {
            int lane = i;
            lanes.add(Executors.newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, "pgrouter-webhook-lane-" + lane);
                t.setDaemon(true);
                return t;
            }));
        }
    }

    synchronized void submit(String subject, Task task) {
        InFlight source = sources.mine();
        source.events++;
        lanes.get(Math.floorMod(subject.hashCode(), lanes.size())).execute(() -> {
            Exception failed = null;
            try {
                task.run();
            } catch (Exception e) {
                failed = e;
            }
            done(source, failed);
        });
    }

    private synchronized void done(InFlight source, Exception failed) {
        if (failed != null && source.failure == null) source.failure = failed;
        source.events--;
        notifyAll();
    }

    /**
     * Waits until every event the calling source submitted is delivered, waiting in the retry store or dead-lettered;
     * throws when one is none of these (another source's events neither delay nor fail this one's batch end).
     */
    synchronized void drain() throws Exception {
        sources.discardEnded(ended -> { });
        InFlight source = sources.mineIfAny();
        if (source == null) return;
        while (source.events > 0) wait();
        if (source.failure != null) {
            Exception f = source.failure;
            source.failure = null;
            // neither delivered nor stored: the batch must be delivered again
            throw new IllegalStateException("a webhook lane could not finish an event: " + f.getMessage(), f);
        }
    }

    void shutdown() {
        lanes.forEach(ExecutorService::shutdownNow);
    }
}
