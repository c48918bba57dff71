package io.pgrouter.sink.queue;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.pgrouter.delivery.DurableDelivery;
import io.pgrouter.delivery.Redeliverable;
import io.pgrouter.delivery.SinkDeliveryException;
import io.pgrouter.testing.ContractStores;

/** A broker batch on the shared contract: refused events to dead letters, the rest sent or parked in order, the broker's down state. */
class QueueDeliveryTest {

    private static final String SINK = "queue-test-sink";

    private ContractStores stores;
    private QueueDelivery delivery;
    private final List<String> sent = new ArrayList<>();

    @BeforeEach
    void stores() throws Exception {
        stores = ContractStores.fresh();
        DurableDelivery.Policy policy = new DurableDelivery.Policy(1, 1, 5, 5, 60_000);
        delivery = new QueueDelivery(new DurableDelivery(SINK, Redeliverable.sinkKey(SINK, "test"), "test broker", policy, stores.retries,
                stores.deadLetters, stores.destinations.of(SINK, "test broker"), stores.out));
    }

    private static QueueEvent event(String id, String subject) throws SinkDeliveryException {
        return QueueEvent.of(ContractStores.event(id, subject), "route-q", SINK);
    }

    private static SinkDeliveryException busy() {
        return new SinkDeliveryException(SINK, "broker busy", null, null, 1, true, null, null);
    }

    @Test
    void aBatchSendsWhatTheBrokerTakesDeadLettersWhatItRefusesAndParksTheRest() throws Exception {
        List<QueueEvent> events = List.of(event("q1", "1"), event("q2", "2"), event("q3", "3"));

        delivery.deliver(events, batch -> {
            List<QueueEvent> left = new ArrayList<>();
            for (QueueEvent e : batch.remaining()) {
                switch (e.id()) {
                    case "q1" -> sent.add(e.id());
                    case "q2" -> batch.reject(e, new SinkDeliveryException(SINK, "message too large", null, null, 1, null));
                    default -> left.add(e);
                }
            }
            batch.onlyLeft(left);
            if (!left.isEmpty()) throw busy();
        });

        assertThat(sent).containsExactly("q1");
        assertThat(stores.text("SELECT sink || ' ' || event_id FROM pgrouter.dead_letters WHERE error LIKE '%message too large%'")).isEqualTo(SINK + " q2");
        assertThat(stores.text("SELECT string_agg(event::json->>'id', ',') FROM pgrouter.retries")).isEqualTo("q3");
        assertThat(delivery.isBrokerDown()).isTrue();

        // while the broker is down, new events wait in the retry store at once
        QueueEvent next = event("q4", "4");
        assertThat(delivery.admit(next)).isFalse();
    }

    @Test
    void aRedeliveryTheBrokerRefusesIsThrownAndOneItTakesMarksItUp() throws Exception {
        delivery.deliver(List.of(event("q1", "1")), batch -> {
            throw busy();
        });
        assertThat(delivery.isBrokerDown()).isTrue();

        assertThatThrownBy(() -> delivery.redeliver(event("q1", "1"), batch -> batch.reject(batch.remaining().get(0),
                new SinkDeliveryException(SINK, "no such queue", null, null, 1, null)))).hasMessageContaining("no such queue");

        delivery.redeliver(event("q1", "1"), batch -> {
            sent.add(batch.remaining().get(0).id());
            batch.delivered();
        });
        assertThat(sent).containsExactly("q1");
        assertThat(delivery.isBrokerDown()).isFalse();
    }
}
