package io.pgrouter.delivery;

import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Ends a client call the destination holds with no time limit of the client's own: an Artemis producer waiting for
 * credit on a blocked address, a RabbitMQ publish stuck in a socket the broker stopped reading. Both clients end such
 * a call only when its connection is closed from another thread; this schedules that close. One daemon thread for
 * every sink; it only closes connections.
 */
public final class HeldCalls {

    private static final ScheduledThreadPoolExecutor WATCHDOG = new ScheduledThreadPoolExecutor(1, r -> {
        Thread t = new Thread(r, "pgrouter-held-calls");
        t.setDaemon(true);
        return t;
    });

    static {
        // a watch per send: the ended ones leave the queue at once instead of at their limit
        WATCHDOG.setRemoveOnCancelPolicy(true);
    }

    private HeldCalls() {
    }

    /** A call being watched. */
    public static final class Watch {
        private final AtomicBoolean fired = new AtomicBoolean();
        private final ScheduledFuture<?> timer;

        private Watch(long limitMs, Runnable close) {
            timer = WATCHDOG.schedule(() -> {
                // set before the close: a call the close releases sees it
                fired.set(true);
                close.run();
            }, limitMs, TimeUnit.MILLISECONDS);
        }

        /**
         * Ends the watch; true when the call was held past its limit and its connection is closed or being closed (a
         * running close cannot be told from the future: it cancels "successfully" while it runs).
         */
        public boolean held() {
            timer.cancel(false);
            return fired.get();
        }
    }

    /** Runs {@code close} unless {@link Watch#held} is called within {@code limitMs}. */
    public static Watch watch(long limitMs, Runnable close) {
        return new Watch(limitMs, close);
    }
}
