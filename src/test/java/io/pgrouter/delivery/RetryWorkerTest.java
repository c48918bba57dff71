package io.pgrouter.delivery;

import static io.pgrouter.delivery.ScriptedSink.Answer.REFUSE;
import static io.pgrouter.delivery.ScriptedSink.Answer.RETRY;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.time.Instant;

import org.junit.jupiter.api.Test;

import io.pgrouter.testing.ContractStores;

/** The retry worker re-sends what waits in the retry store: per subject in order; refused or out of budget, to dead letters. */
class RetryWorkerTest extends ContractTest {

    private static final Duration WAIT = Duration.ofSeconds(20);

    private void park(ScriptedSink sink, String id, String subject, Instant due) throws Exception {
        stores.retries.park(sink.sinkKey(), "route-" + subject, subject, ContractStores.event(id, subject), 1, due, 503, "busy");
    }

    /** a1 and a2 of subject a wait; the first attempt gets {@code first}; returns once the store is empty. */
    private ScriptedSink reSendTwoOfOneSubject(ScriptedSink.Answer first) throws Exception {
        ScriptedSink sink = new ScriptedSink(stores, ScriptedSink.quick(60_000)).answers(first);
        park(sink, "a1", "a", Instant.now());
        park(sink, "a2", "a", Instant.now());
        worker.register(sink);
        worker.start();
        await().atMost(WAIT).until(() -> stores.retries.size() == 0);
        return sink;
    }

    @Test
    void dueEventsAreReSentOldestFirstPerSubjectAndLeaveTheStore() throws Exception {
        ScriptedSink sink = new ScriptedSink(stores, ScriptedSink.quick(60_000));
        park(sink, "a1", "a", Instant.now());
        park(sink, "b1", "b", Instant.now());
        park(sink, "a2", "a", Instant.now());
        park(sink, "later", "c", Instant.now().plusSeconds(3600));

        worker.register(sink);
        worker.start();

        await().atMost(WAIT).until(() -> stores.retries.size() == 1);
        assertThat(sink.received).containsExactlyInAnyOrder("a1", "a2", "b1").containsSubsequence("a1", "a2");
        assertThat(stores.text("SELECT event::json->>'id' FROM pgrouter.retries")).isEqualTo("later");
    }

    @Test
    void eventsStoredUnderASinksFormerKeyAreReSentThroughIt() throws Exception {
        ScriptedSink sink = new ScriptedSink(stores, ScriptedSink.quick(60_000));
        String former = Redeliverable.sinkKey(ScriptedSink.NAME, "its configuration before its key changed");
        stores.retries.park(former, "route-a", "a", ContractStores.event("old1", "a"), 1, Instant.now(), 503, "busy");
        worker.register(new Redeliverable() {
            @Override
            public String sinkKey() {
                return sink.sinkKey();
            }

            @Override
            public String formerSinkKey() {
                return former;
            }

            @Override
            public void redeliver(String eventJson) throws SinkDeliveryException, InterruptedException {
                sink.redeliver(eventJson);
            }

            @Override
            public DurableDelivery.Policy policy() {
                return sink.policy();
            }
        });
        worker.start();

        await().atMost(WAIT).until(() -> stores.retries.size() == 0);
        assertThat(sink.received).containsExactly("old1");
    }

    @Test
    void aRetryableFailureIsRescheduledAndTheSubjectWaitsBehindIt() throws Exception {
        ScriptedSink sink = reSendTwoOfOneSubject(RETRY);
        assertThat(sink.received).containsExactly("a1", "a2");
        assertThat(sink.attempts).hasValue(3);
    }

    @Test
    void anEventRefusedForGoodGoesToDeadLettersAndTheNextOfItsSubjectFollows() throws Exception {
        ScriptedSink sink = reSendTwoOfOneSubject(REFUSE);
        assertThat(sink.received).containsExactly("a2");
        assertThat(stores.text("SELECT sink || ' ' || route_id || ' ' || event_id || ' ' || attempts FROM pgrouter.dead_letters"))
                .isEqualTo("scripted-sink route-a a1 2");
    }

    @Test
    void anEventPastItsRetryBudgetGoesToDeadLetters() throws Exception {
        ScriptedSink sink = new ScriptedSink(stores, ScriptedSink.quick(1)).answers(RETRY);
        park(sink, "a1", "a", Instant.now());
        stores.exec("UPDATE pgrouter.retries SET first_failed_at = now() - interval '1 minute'");

        worker.register(sink);
        worker.start();

        await().atMost(WAIT).until(() -> stores.retries.size() == 0);
        assertThat(sink.received).isEmpty();
        assertThat(stores.text("SELECT error FROM pgrouter.dead_letters WHERE event_id = 'a1'")).contains("retry budget spent: busy");
    }

    /** A sink known by {@code key} that hands each attempt to {@code send}. */
    private static Redeliverable sink(String key, java.util.function.Consumer<String> send) {
        return new Redeliverable() {
            @Override
            public String sinkKey() {
                return Redeliverable.sinkKey(ScriptedSink.NAME, key);
            }

            @Override
            public void redeliver(String eventJson) {
                send.accept(eventJson);
            }

            @Override
            public DurableDelivery.Policy policy() {
                return ScriptedSink.quick(60_000);
            }
        };
    }

    @Test
    void aDestinationThatDoesNotAnswerHoldsBackOnlyItsOwnEvents() throws Exception {
        java.util.concurrent.CountDownLatch answer = new java.util.concurrent.CountDownLatch(1);
        java.util.List<String> quick = new java.util.concurrent.CopyOnWriteArrayList<>();
        Redeliverable slow = sink("slow", json -> {
            try {
                answer.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        Redeliverable other = sink("other", quick::add);
        stores.retries.park(slow.sinkKey(), "route-s", "s", ContractStores.event("s1", "s"), 1, Instant.now(), 503, "busy");
        // due only after the first round started the slow destination's attempt
        for (int i = 1; i <= 3; i++) {
            stores.retries.park(other.sinkKey(), "route-o", "o", ContractStores.event("o" + i, "o"), 1, Instant.now().plusSeconds(2), 503, "busy");
        }
        worker.register(slow);
        worker.register(other);
        worker.start();
        try {
            // the slow destination's attempt hangs; the other one's events are re-sent meanwhile, round after round
            await().atMost(WAIT).until(() -> stores.retries.size() == 1);
            assertThat(quick).hasSize(3);
            assertThat(stores.text("SELECT event::json->>'id' FROM pgrouter.retries")).isEqualTo("s1");
        } finally {
            answer.countDown();
        }
        await().atMost(WAIT).until(() -> stores.retries.size() == 0);
    }

    @Test
    void aSinkThatTakesBatchesCatchesUpInBatchesAndKeepsEachSubjectsOrder() throws Exception {
        ScriptedSink sink = new ScriptedSink(stores, ScriptedSink.quick(60_000)).inBatchesOf(50);
        // durable messages without a subject share one ("") and wait in order; rows of 60 subjects wait beside them
        for (int i = 0; i < 120; i++) {
            park(sink, "m" + i, "", Instant.now());
            if (i % 2 == 0) park(sink, "r" + i, "row-" + i, Instant.now());
        }
        worker.register(sink);
        worker.start();

        await().atMost(WAIT).until(() -> stores.retries.size() == 0);
        java.util.List<String> messages = sink.received.stream().filter(id -> id.startsWith("m")).toList();
        assertThat(messages).containsExactlyElementsOf(java.util.stream.IntStream.range(0, 120).mapToObj(i -> "m" + i).toList());
        assertThat(sink.received).hasSize(180);
        // 180 events in batches of 50, the 61 subjects in groups of 50: 169 events of the first group in 4 batches, then 11
        assertThat(sink.batches).hasValue(5);
    }

    @Test
    void inABatchAFailureHoldsBackOnlyItsSubject() throws Exception {
        ScriptedSink sink = new ScriptedSink(stores, ScriptedSink.quick(60_000)).inBatchesOf(10).answers(RETRY);
        park(sink, "a1", "a", Instant.now());
        park(sink, "b1", "b", Instant.now());
        park(sink, "a2", "a", Instant.now());
        park(sink, "b2", "b", Instant.now());
        worker.register(sink);
        worker.start();

        await().atMost(WAIT).until(() -> stores.retries.size() == 0);
        // a1 failed: a2 (sent in the same batch) stayed in the store behind it and was sent again after a1
        java.util.List<String> got = java.util.List.copyOf(sink.received);
        assertThat(got.stream().filter(id -> id.startsWith("b"))).containsExactly("b1", "b2");
        assertThat(got.subList(got.indexOf("a1"), got.size())).containsExactly("a1", "a2");
        assertThat(stores.text("SELECT count(*) FROM pgrouter.dead_letters")).isEqualTo("0");
    }

    @Test
    void aSubjectWhoseEventsKeepComingDoesNotHoldTheOthersBack() throws Exception {
        java.util.List<String> got = new java.util.concurrent.CopyOnWriteArrayList<>();
        String key = "growing";
        java.util.concurrent.atomic.AtomicInteger more = new java.util.concurrent.atomic.AtomicInteger();
        Redeliverable sink = sink(key, json -> {
            String id = json.replaceFirst("^.*?\"id\":\"([^\"]*)\".*$", "$1");
            got.add(id);
            // each message re-sent, another one arrives behind it (for a while): the subject never runs dry on its own
            if (id.startsWith("m") && more.incrementAndGet() < 1000) {
                try {
                    stores.retries.park(Redeliverable.sinkKey(ScriptedSink.NAME, key), "route-m", "", ContractStores.event("m" + more.get(), ""), 0,
                            Instant.now(), null, "waiting behind an earlier event");
                } catch (java.sql.SQLException e) {
                    throw new IllegalStateException(e);
                }
            }
        });
        stores.retries.park(sink.sinkKey(), "route-m", "", ContractStores.event("m0", ""), 1, Instant.now(), 503, "busy");
        stores.retries.park(sink.sinkKey(), "route-x", "x", ContractStores.event("x1", "x"), 1, Instant.now(), 503, "busy");
        worker.register(sink);
        worker.start();

        await().atMost(WAIT).until(() -> got.contains("x1"));
        assertThat(got.indexOf("x1")).isLessThanOrEqualTo(RetryWorker.SUBJECT_TURN);
    }

    @Test
    void whenADestinationAnswersAgainWhatWaitsForItIsDueAtOnce() throws Exception {
        ScriptedSink sink = new ScriptedSink(stores, ScriptedSink.quick(3_600_000));
        // its failed probes while the destination was down pushed its next attempt an hour away
        stores.retries.park(sink.sinkKey(), "route-a", "a", ContractStores.event("a1", "a"), 9, Instant.now().plusSeconds(3600), 503, "down");
        sink.delivery.destination().down("refused");
        worker.register(sink);
        worker.start();
        worker.deliverDue();
        assertThat(sink.attempts).hasValue(0);

        sink.delivery.destination().up();

        await().atMost(WAIT).until(() -> stores.retries.size() == 0);
        assertThat(sink.received).containsExactly("a1");
    }

    @Test
    void eventsOfASinkThatIsNotLoadedWait() throws Exception {
        ScriptedSink sink = new ScriptedSink(stores, ScriptedSink.quick(60_000));
        park(sink, "a1", "a", Instant.now());

        worker.start();
        worker.deliverDue();

        assertThat(stores.retries.size()).isEqualTo(1);
        assertThat(sink.attempts).hasValue(0);
    }
}
