package io.pgrouter.delivery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.Test;

/** The watch a sink puts on a call the destination may hold: what {@link HeldCalls.Watch#held} answers. */
class HeldCallsTest {

    @Test
    void aCallThatEndsInTimeIsNotHeldAndItsConnectionStaysOpen() throws Exception {
        AtomicBoolean closed = new AtomicBoolean();
        HeldCalls.Watch watch = HeldCalls.watch(300, () -> closed.set(true));
        assertThat(watch.held()).isFalse();
        // past the limit, the ended watch never closes the connection
        await().during(Duration.ofMillis(600)).atMost(Duration.ofSeconds(2)).untilFalse(closed);
    }

    @Test
    void aCallReleasedByTheCloseIsHeldEvenWhileTheCloseStillRuns() throws Exception {
        CountDownLatch closing = new CountDownLatch(1);
        CountDownLatch finishClose = new CountDownLatch(1);
        HeldCalls.Watch watch = HeldCalls.watch(20, () -> {
            closing.countDown();
            try {
                finishClose.await(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        // the held call is released as the connection closes, before the close returns (the client's close wakes it)
        assertThat(closing.await(5, TimeUnit.SECONDS)).isTrue();
        assertThat(watch.held()).isTrue();
        finishClose.countDown();
    }
}
