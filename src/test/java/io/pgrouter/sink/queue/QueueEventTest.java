package io.pgrouter.sink.queue;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;

import org.apache.kafka.connect.source.SourceRecord;
import org.junit.jupiter.api.Test;

import io.pgrouter.event.CanonicalEvent;
import io.pgrouter.event.EventMapper;
import io.pgrouter.event.RecordedRecords;

/** The ce_* attributes a message carries are the same whether taken from the event or read back from its JSON. */
class QueueEventTest {

    @Test
    void attributesFromTheEventEqualThoseReadFromItsJson() throws Exception {
        EventMapper mapper = new EventMapper("postgres");
        List<CanonicalEvent> events = new ArrayList<>();
        for (SourceRecord r : RecordedRecords.load("/records/pg14-types.jsonl")) events.add(mapper.fromDebezium(r).get(0));
        events.add(events.get(0).withSkip("migration 42"));
        events.add(mapper.fromNotify("orders", "{\"plain\": true}"));
        for (CanonicalEvent e : events) {
            QueueEvent fromJson = QueueEvent.of(e.toJson(), "r", "test-sink");
            QueueEvent fromEvent = QueueEvent.of(e.toJson(), "r", "test-sink", e);
            assertThat(fromEvent.attributes()).containsExactlyEntriesOf(fromJson.attributes());
            assertThat(fromEvent.subject()).isEqualTo(fromJson.subject());
        }
    }
}
