package io.pgrouter.source.wal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.kafka.connect.data.Struct;
import org.junit.jupiter.api.Test;

import io.debezium.data.Envelope.Operation;
import io.debezium.pipeline.meters.CommonEventMeter;
import io.debezium.pipeline.source.spi.EventMetadataProvider;
import io.debezium.pipeline.spi.OffsetContext;
import io.debezium.spi.schema.DataCollectionId;
import io.debezium.util.Clock;

/**
 * Our replacement of Debezium's {@code CommonEventMeter} (see its comment): the per-event summary is formatted only
 * when the JMX attribute is read, and the counters still count. Fails when the class path serves Debezium's original.
 */
class DebeziumMetricsPatchTest {

    @Test
    void theLastEventSummaryIsFormattedOnReadNotPerEvent() {
        AtomicInteger formatted = new AtomicInteger();
        EventMetadataProvider provider = new EventMetadataProvider() {
            @Override
            public java.time.Instant getEventTimestamp(DataCollectionId source, OffsetContext offset, Object key, Struct value) {
                return null;
            }

            @Override
            public Map<String, String> getEventSourcePosition(DataCollectionId source, OffsetContext offset, Object key, Struct value) {
                return Map.of();
            }

            @Override
            public String getTransactionId(DataCollectionId source, OffsetContext offset, Object key, Struct value) {
                return null;
            }

            @Override
            public String toSummaryString(DataCollectionId source, OffsetContext offset, Object key, Struct value) {
                return "event " + key + " #" + formatted.incrementAndGet();
            }
        };
        CommonEventMeter meter = new CommonEventMeter(Clock.system(), provider);
        for (int i = 1; i <= 1000; i++) meter.onEvent(null, null, "k" + i, null, Operation.CREATE);
        assertThat(formatted).hasValue(0);
        assertThat(meter.getLastEvent()).isEqualTo("event k1000 #1");
        assertThat(meter.getTotalNumberOfEventsSeen()).isEqualTo(1000);
        assertThat(meter.getTotalNumberOfCreateEventsSeen()).isEqualTo(1000);
        meter.reset();
        assertThat(meter.getLastEvent()).isNull();
    }
}
