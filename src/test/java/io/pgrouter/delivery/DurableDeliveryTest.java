package io.pgrouter.delivery;

import static io.pgrouter.delivery.ScriptedSink.Answer.OK;
import static io.pgrouter.delivery.ScriptedSink.Answer.REFUSE;
import static io.pgrouter.delivery.ScriptedSink.Answer.RETRY;
import static io.pgrouter.delivery.ScriptedSink.event;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import org.junit.jupiter.api.Test;


/**
 * The delivery contract every sink shares ({@link DurableDelivery}), against a scripted sink and the real retry and
 * dead-letter stores: in-line retry, park with the subject's order kept, destination down and back, refused for good,
 * a batch end that cannot store its events put back, two sources apart.
 */
class DurableDeliveryTest extends ContractTest {

    @Test
    void aRetryableFailureIsRetriedInLine() throws Exception {
        ScriptedSink sink = new ScriptedSink(stores, ScriptedSink.quick(60_000)).answers(RETRY, RETRY, OK);

        sink.deliver(event("e1", "1"));

        assertThat(sink.received).containsExactly("e1");
        assertThat(sink.attempts).hasValue(3);
        assertThat(stores.retries.size()).isZero();
        assertThat(sink.delivery.destination().isDown()).isFalse();
    }

    @Test
    void spentRetriesParkTheEventAndLaterEventsOfItsSubjectQueueBehindIt() throws Exception {
        ScriptedSink sink = new ScriptedSink(stores, ScriptedSink.quick(60_000)).answers(RETRY, RETRY, RETRY);

        sink.deliver(event("e1", "1"));
        assertThat(stores.retries.size()).isEqualTo(1);
        assertThat(sink.delivery.destination().isDown()).isTrue();

        // the destination is down: the next events are not tried, they wait in the retry store (the subject's after e1)
        sink.deliver(event("e2", "1"));
        sink.deliver(event("e3", "2"));
        sink.delivery.writeParked();
        assertThat(sink.attempts).hasValue(3);
        assertThat(stores.text("SELECT string_agg(event::json->>'id', ',' ORDER BY id) FROM pgrouter.retries WHERE subject = '1'")).isEqualTo("e1,e2");

        // the retry worker's attempt is the probe: it succeeds, the destination is up, the subject's order holds
        worker.register(sink);
        worker.start();
        await().atMost(Duration.ofSeconds(20)).until(() -> stores.retries.size() == 0);
        assertThat(sink.received).containsSubsequence("e1", "e2").contains("e3");
        assertThat(sink.delivery.destination().isDown()).isFalse();

        sink.deliver(event("e4", "1"));
        assertThat(sink.received).endsWith("e4");
    }

    @Test
    void anEventRefusedForGoodIsThrownForTheDispatcherToDeadLetter() throws Exception {
        ScriptedSink sink = new ScriptedSink(stores, ScriptedSink.quick(60_000)).answers(REFUSE);

        assertThatThrownBy(() -> sink.deliver(event("e1", "1"))).isInstanceOf(SinkDeliveryException.class)
                .satisfies(e -> assertThat(((SinkDeliveryException) e).retryable()).isFalse()).hasMessageContaining("refused e1");
        assertThat(sink.attempts).hasValue(1);
        assertThat(stores.retries.size()).isZero();
    }

    @Test
    void withoutARetryBudgetSpentRetriesFailTheEvent() throws Exception {
        ScriptedSink sink = new ScriptedSink(stores, ScriptedSink.quick(0)).answers(RETRY, RETRY, RETRY);

        assertThatThrownBy(() -> sink.deliver(event("e1", "1"))).isInstanceOf(SinkDeliveryException.class).hasMessageContaining("failed 3 attempts");
        assertThat(stores.retries.size()).isZero();
    }

    @Test
    void aBatchDeadLettersWhatWasRefusedUnderTheSinksNameAndParksWhatIsLeftInOrder() throws Exception {
        ScriptedSink sink = new ScriptedSink(stores, ScriptedSink.quick(60_000))
                // attempt 1: e1 ok, e2 refused, e3 and e4 busy; attempts 2 and 3: e3 and e4 busy again
                .answers(OK, REFUSE, RETRY, RETRY, RETRY, RETRY, RETRY, RETRY);
        for (String id : List.of("e1", "e2", "e3", "e4")) sink.accept(event(id, "s"));

        sink.flush();

        assertThat(sink.received).containsExactly("e1");
        assertThat(stores.text("SELECT sink || ' ' || route_id || ' ' || event_id || ' ' || last_status FROM pgrouter.dead_letters"))
                .isEqualTo("scripted-sink route-s e2 400");
        assertThat(stores.text("SELECT string_agg(event::json->>'id', ',' ORDER BY id) FROM pgrouter.retries")).isEqualTo("e3,e4");
        assertThat(sink.delivery.destination().isDown()).isTrue();
    }

    @Test
    void aBatchRefusedAsAWholeIsDeadLettered() throws Exception {
        ScriptedSink sink = new ScriptedSink(stores, ScriptedSink.quick(60_000));

        sink.delivery.deliverBatch(new DeliveryBatch<>(List.of(event("e1", "1"), event("e2", "2"))), batch -> {
            throw new SinkDeliveryException(ScriptedSink.NAME, "wrong credentials", 401, null, 1, null);
        });

        assertThat(stores.count("SELECT count(*) FROM pgrouter.dead_letters WHERE sink = 'scripted-sink' AND error LIKE '%wrong credentials%'"))
                .isEqualTo(2);
        assertThat(stores.retries.size()).isZero();
    }

    @Test
    void aBatchEndThatCanNeitherDeliverNorStoreItsEventsPutsThemBackAndThrows() throws Exception {
        ScriptedSink sink = new ScriptedSink(stores, ScriptedSink.quick(60_000)).answers(RETRY, RETRY, RETRY, RETRY, RETRY, RETRY);
        sink.accept(event("e1", "1"));
        sink.accept(event("e2", "2"));

        stores.stopDatabase();
        try {
            assertThatThrownBy(sink::flush).isInstanceOf(java.sql.SQLException.class);
            assertThat(sink.buffered()).isEqualTo(2); // the source's position stays before them: nothing is lost
        } finally {
            stores.startDatabase();
        }

        sink.flush();
        assertThat(sink.buffered()).isZero();
        assertThat(sink.received).containsExactly("e1", "e2");
        assertThat(stores.retries.size()).isZero();
    }

    @Test
    void twoSourcesEachFlushOnlyWhatTheyHandedOver() throws Exception {
        ScriptedSink sink = new ScriptedSink(stores, ScriptedSink.quick(60_000));
        ExecutorService wal = Executors.newSingleThreadExecutor();
        ExecutorService notify = Executors.newSingleThreadExecutor();
        try {
            wal.submit(() -> { sink.accept(event("w1", "1")); return null; }).get();
            notify.submit(() -> { sink.accept(event("n1", "2")); return null; }).get();
            wal.submit(() -> { sink.accept(event("w2", "3")); return null; }).get();

            wal.submit(() -> { sink.flush(); return null; }).get();
            assertThat(sink.received).containsExactly("w1", "w2");
            assertThat(notify.submit(sink::buffered).get()).isEqualTo(1);

            notify.submit(() -> { sink.flush(); return null; }).get();
            assertThat(sink.received).containsExactly("w1", "w2", "n1");
        } finally {
            wal.shutdownNow();
            notify.shutdownNow();
        }
    }
}
