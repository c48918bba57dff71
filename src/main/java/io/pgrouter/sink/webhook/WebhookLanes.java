package io.pgrouter.sink.webhook;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

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
    private int inFlight;
    private Exception failure;

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
        inFlight++;
        lanes.get(Math.floorMod(subject.hashCode(), lanes.size())).execute(() -> {
            Exception failed = null;
            try {
                task.run();
            } catch (Exception e) {
                failed = e;
            }
            done(failed);
        });
    }

    private synchronized void done(Exception failed) {
        if (failed != null && failure == null) failure = failed;
        inFlight--;
        notifyAll();
    }

    /** Waits until every submitted event is delivered, waiting in the retry store or dead-lettered. */
    synchronized void drain() throws Exception {
        while (inFlight > 0) wait();
        if (failure != null) {
            Exception f = failure;
            failure = null;
            // neither delivered nor stored: the batch must be delivered again
            throw new IllegalStateException("a webhook lane could not finish an event: " + f.getMessage(), f);
        }
    }

    void shutdown() {
        lanes.forEach(ExecutorService::shutdownNow);
    }
}
