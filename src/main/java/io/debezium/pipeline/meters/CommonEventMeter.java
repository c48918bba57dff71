/*
 * Copyright Debezium Authors.
 *
 * Licensed under the Apache Software License version 2.0, available at http://www.apache.org/licenses/LICENSE-2.0
 */
package io.debezium.pipeline.meters;

import java.util.concurrent.atomic.AtomicLong;

import org.apache.kafka.connect.data.Struct;

import io.debezium.annotation.ThreadSafe;
import io.debezium.data.Envelope.Operation;
import io.debezium.pipeline.metrics.traits.CommonEventMetricsMXBean;
import io.debezium.pipeline.source.spi.EventMetadataProvider;
import io.debezium.pipeline.spi.OffsetContext;
import io.debezium.spi.schema.DataCollectionId;
import io.debezium.util.Clock;

/**
 * pg-event-router's copy of Debezium 3.4.0.Final's {@code CommonEventMeter}, identical but for one thing: the
 * {@code LastEvent} JMX attribute is formatted when someone reads it, not for every event.
 *
 * Why a copy: Debezium formats that summary eagerly on its decoding thread for every change (an
 * {@code EventFormatter} and a new Jackson {@code ObjectMapper} per event, to be overwritten by the next one); a JFR
 * profile of the router at 1000-row transactions put a third of the decoding thread's samples there. No setting
 * turns it off and the metrics factory is hard-wired in {@code PostgresConnectorTask}, so the class is replaced:
 * {@code quarkus.class-loading.removed-resources} drops Debezium's own from the class path (application.properties;
 * in test and dev mode Debezium's jars are also made "reloadable" so they load beside this class). Re-check this file whenever {@code debezium.version} changes ({@code
 * DebeziumMetricsPatchTest} tests the behaviour, PackagedRouterIT that the package carries this class).
 */
@ThreadSafe
public class CommonEventMeter implements CommonEventMetricsMXBean {

    protected final AtomicLong totalNumberOfEventsSeen = new AtomicLong();
    protected final AtomicLong totalNumberOfCreateEventsSeen = new AtomicLong();
    protected final AtomicLong totalNumberOfUpdateEventsSeen = new AtomicLong();
    protected final AtomicLong totalNumberOfDeleteEventsSeen = new AtomicLong();
    private final AtomicLong numberOfEventsFiltered = new AtomicLong();
    protected final AtomicLong numberOfErroneousEvents = new AtomicLong();
    protected final AtomicLong lastEventTimestamp = new AtomicLong(-1);
    /** What the last event's summary is made of; formatted on read (the offset context may have moved on by then). */
    private volatile LastEvent lastEvent;

    private final Clock clock;
    private final EventMetadataProvider metadataProvider;

    private record LastEvent(DataCollectionId source, OffsetContext offset, Object key, Struct value) {
    }

    public CommonEventMeter(Clock clock, EventMetadataProvider metadataProvider) {
        this.clock = clock;
        this.metadataProvider = metadataProvider;
    }

    public void onEvent(DataCollectionId source, OffsetContext offset, Object key, Struct value, Operation operation) {
        updateCommonEventMetrics(operation);
        lastEvent = new LastEvent(source, offset, key, value);
    }

    private void updateCommonEventMetrics() {
        updateCommonEventMetrics(null);
    }

    private void updateCommonEventMetrics(Operation operation) {
        totalNumberOfEventsSeen.incrementAndGet();
        lastEventTimestamp.set(clock.currentTimeInMillis());

        // if/else rather than Debezium's switch: a switch on the enum compiles to a synthetic CommonEventMeter$1, a name
        // Debezium's jar also has
        if (operation == Operation.CREATE) {
            totalNumberOfCreateEventsSeen.incrementAndGet();
        } else if (operation == Operation.UPDATE) {
            totalNumberOfUpdateEventsSeen.incrementAndGet();
        } else if (operation == Operation.DELETE) {
            totalNumberOfDeleteEventsSeen.incrementAndGet();
        }
    }

    public void onFilteredEvent() {
        numberOfEventsFiltered.incrementAndGet();
        updateCommonEventMetrics();
    }

    public void onFilteredEvent(Operation operation) {
        numberOfEventsFiltered.incrementAndGet();
        updateCommonEventMetrics(operation);
    }

    public void onErroneousEvent() {
        numberOfErroneousEvents.incrementAndGet();
        updateCommonEventMetrics();
    }

    public void onErroneousEvent(Operation operation) {
        numberOfErroneousEvents.incrementAndGet();
        updateCommonEventMetrics(operation);
    }

    @Override
    public String getLastEvent() {
        LastEvent last = lastEvent;
        return last == null ? null : metadataProvider.toSummaryString(last.source(), last.offset(), last.key(), last.value());
    }

    @Override
    public long getMilliSecondsSinceLastEvent() {
        return (lastEventTimestamp.get() == -1) ? -1 : (clock.currentTimeInMillis() - lastEventTimestamp.get());
    }

    @Override
    public long getTotalNumberOfEventsSeen() {
        return totalNumberOfEventsSeen.get();
    }

    @Override
    public long getTotalNumberOfCreateEventsSeen() {
        return totalNumberOfCreateEventsSeen.get();
    }

    @Override
    public long getTotalNumberOfUpdateEventsSeen() {
        return totalNumberOfUpdateEventsSeen.get();
    }

    @Override
    public long getTotalNumberOfDeleteEventsSeen() {
        return totalNumberOfDeleteEventsSeen.get();
    }

    @Override
    public long getNumberOfEventsFiltered() {
        return numberOfEventsFiltered.get();
    }

    @Override
    public long getNumberOfErroneousEvents() {
        return numberOfErroneousEvents.get();
    }

    public void reset() {
        totalNumberOfEventsSeen.set(0);
        totalNumberOfCreateEventsSeen.set(0);
        totalNumberOfUpdateEventsSeen.set(0);
        totalNumberOfDeleteEventsSeen.set(0);
        lastEventTimestamp.set(-1);
        numberOfEventsFiltered.set(0);
        numberOfErroneousEvents.set(0);
        lastEvent = null;
    }
}
