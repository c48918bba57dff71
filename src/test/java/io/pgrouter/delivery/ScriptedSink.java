package io.pgrouter.delivery;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicInteger;

import io.pgrouter.testing.ContractStores;

/**
 * A sink on the delivery contract whose destination answers from a script: each attempt takes the next answer
 * ({@link Answer#OK} once the script is empty). What it received is kept in order. Our own code under test, not a
 * stand-in for a system we integrate with: the stores behind it are the real ones.
 */
final class ScriptedSink implements Redeliverable {

    enum Answer { OK, RETRY, REFUSE }

    /** One event as the sink holds it. */
    record Event(String json, String subject, String routeId) implements SinkEvent {
        String id() {
            return json.replaceFirst("^.*?\"id\":\"([^\"]*)\".*$", "$1");
        }
    }

    static final String NAME = "scripted-sink";

    final Deque<Answer> script = new ConcurrentLinkedDeque<>();
    final List<String> received = Collections.synchronizedList(new ArrayList<>());
    final AtomicInteger attempts = new AtomicInteger();
    final DurableDelivery delivery;
    private final DurableDelivery.Policy policy;
    /** Admitted events per source, sent at that source's batch end. */
    private final SourceBuffers<List<Event>> buffers = new SourceBuffers<>(ArrayList::new);

    ScriptedSink(ContractStores stores, DurableDelivery.Policy policy) {
        this.policy = policy;
        this.delivery = new DurableDelivery(NAME, sinkKey(), "scripted destination", policy, stores.retries, stores.deadLetters,
                stores.destinations.of(NAME, "scripted destination"), stores.out);
    }

    /** A few quick in-line retries, a retry budget of a minute. */
    static DurableDelivery.Policy quick(long retryBudgetMs) {
        return new DurableDelivery.Policy(2, 1, 5, 5, retryBudgetMs);
    }

    ScriptedSink answers(Answer... answers) {
        script.addAll(List.of(answers));
        return this;
    }

    /** One attempt at one event. */
    void send(Event e) throws SinkDeliveryException {
        attempts.incrementAndGet();
        Answer a = script.isEmpty() ? Answer.OK : script.poll();
        switch (a) {
            case OK -> received.add(e.id());
            case RETRY -> throw new SinkDeliveryException(NAME, "busy", 503, null, 1, true, null, null);
            case REFUSE -> throw new SinkDeliveryException(NAME, "refused " + e.id(), 400, "bad event", 1, null);
        }
    }

    /** One attempt at a batch: each remaining event answered in turn; refused ones rejected, retryable ones left. */
    void send(DeliveryBatch<Event> batch) throws SinkDeliveryException {
        List<Event> left = new ArrayList<>();
        SinkDeliveryException retry = null;
        for (Event e : batch.remaining()) {
            try {
                send(e);
            } catch (SinkDeliveryException failure) {
                if (failure.retryable()) {
                    left.add(e);
                    retry = failure;
                } else {
                    batch.reject(e, failure);
                }
            }
        }
        batch.onlyLeft(left);
        if (retry != null) throw retry;
    }

    /** The one-event path a route's step takes. */
    void deliver(Event e) throws Exception {
        delivery.deliver(e.json(), e.subject(), e.routeId(), () -> send(e));
    }

    /** A route's step in a batching sink: admitted events wait in the calling source's buffer. */
    void accept(Event e) throws Exception {
        if (!delivery.admit(e.json(), e.subject(), e.routeId())) return;
        List<Event> mine = buffers.mine();
        synchronized (mine) {
            mine.add(e);
        }
    }

    /** The calling source's batch end; when the batch can be neither delivered nor stored it is put back and this throws. */
    void flush() throws Exception {
        List<Event> mine = buffers.mineIfAny();
        if (mine == null) return;
        List<Event> batch;
        synchronized (mine) {
            batch = List.copyOf(mine);
            mine.clear();
        }
        try {
            delivery.deliverBatch(new DeliveryBatch<>(batch), this::send);
            delivery.writeParked();
        } catch (Exception failure) {
            synchronized (mine) {
                mine.addAll(0, batch);
            }
            throw failure;
        }
    }

    /** How many events the calling source holds. */
    int buffered() {
        List<Event> mine = buffers.mineIfAny();
        return mine == null ? 0 : mine.size();
    }

    static Event event(String id, String subject) {
        return new Event(ContractStores.event(id, subject), subject, "route-" + subject);
    }

    @Override
    public String sinkKey() {
        return Redeliverable.sinkKey(NAME, "scripted");
    }

    @Override
    public void redeliver(String eventJson) throws SinkDeliveryException, InterruptedException {
        Event e = new Event(eventJson, null, null);
        delivery.probe(() -> send(e));
    }

    /** How many waiting events one redelivery may carry (more than 1: the retry worker hands over batches). */
    int redeliveryBatch = 1;
    /** The batches the retry worker handed over. */
    final AtomicInteger batches = new AtomicInteger();

    ScriptedSink inBatchesOf(int size) {
        redeliveryBatch = size;
        return this;
    }

    @Override
    public int redeliveryBatch() {
        return redeliveryBatch;
    }

    @Override
    public List<SinkDeliveryException> redeliverAll(List<String> events) throws InterruptedException {
        batches.incrementAndGet();
        List<Event> batch = new ArrayList<>();
        for (String json : events) batch.add(new Event(json, null, null));
        return delivery.redeliverAll(new DeliveryBatch<>(batch), this::send);
    }

    @Override
    public DurableDelivery.Policy policy() {
        return policy;
    }

    @Override
    public boolean destinationDown() {
        return delivery.destination().isDown();
    }
}
