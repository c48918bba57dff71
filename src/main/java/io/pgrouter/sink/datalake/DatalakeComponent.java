package io.pgrouter.sink.datalake;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import jakarta.inject.Inject;
import jakarta.inject.Named;
import jakarta.inject.Singleton;

import org.apache.camel.Endpoint;
import org.apache.camel.support.DefaultComponent;

import io.pgrouter.postgres.Postgres;
import io.pgrouter.delivery.BatchBoundary;
import io.quarkus.arc.Unremovable;

/**
 * {@code pglake:<name>?target=...&format=jsonl|parquet&...}: the producer behind {@code kamelets/datalake-sink.kamelet.yaml}.
 * Camel's file and aws2-s3 components write one object per exchange and know no batch end; the lake's contract
 * (partitioned, rolled files visible only when complete, committed before the source's position moves past
 * their events, Parquet typed from the catalogue) needs the end of each source batch, so it is this component.
 */
@Singleton
@Named("pglake")
@Unremovable
public class DatalakeComponent extends DefaultComponent implements BatchBoundary {

    @Inject
    Postgres postgres;

    private final List<DatalakeEndpoint> endpoints = new CopyOnWriteArrayList<>();
    private TableColumns catalogue;

    synchronized TableColumns catalogue() {
        if (catalogue == null) catalogue = new TableColumns(postgres);
        return catalogue;
    }

    /** Every file this thread has open is committed (a replay, a shutdown, the NOTIFY source); throws if one cannot be. */
    @Override
    public void flush() throws Exception {
        commit(true);
    }

    /** The end of a WAL batch: files are committed but those lingering; the oldest event they hold bounds the position. */
    @Override
    public long flushDue() throws Exception {
        return commit(false);
    }

    private long commit(boolean all) throws Exception {
        Exception first = null;
        long held = Long.MAX_VALUE;
        for (DatalakeEndpoint endpoint : endpoints) {
            try {
                held = Math.min(held, endpoint.commitOpenFiles(all));
            } catch (Exception e) {
                if (first == null) first = e;
                else first.addSuppressed(e);
            }
        }
        if (first != null) throw first;
        return held;
    }

    private java.util.concurrent.ScheduledExecutorService lingering;

    @Override
    protected void doStart() throws Exception {
        super.doStart();
        lingering = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "pgrouter-lake-linger");
            t.setDaemon(true);
            return t;
        });
        lingering.scheduleWithFixedDelay(() -> endpoints.forEach(DatalakeEndpoint::commitLingering), 100, 100, java.util.concurrent.TimeUnit.MILLISECONDS);
    }

    @Override
    protected Endpoint createEndpoint(String uri, String remaining, Map<String, Object> parameters) throws Exception {
        DatalakeEndpoint endpoint = new DatalakeEndpoint(uri, this);
        setProperties(endpoint, parameters);
        endpoint.validate();
        endpoints.add(endpoint);
        return endpoint;
    }

    void forget(DatalakeEndpoint endpoint) {
        endpoints.remove(endpoint);
    }

    @Override
    protected synchronized void doStop() throws Exception {
        if (lingering != null) lingering.shutdownNow();
        if (catalogue != null) catalogue.close();
        catalogue = null;
        super.doStop();
    }
}
