package io.pgrouter.sink.durable;

import java.util.Arrays;
import java.util.Set;
import java.util.stream.Collectors;

import org.apache.camel.Consumer;
import org.apache.camel.Processor;
import org.apache.camel.Producer;
import org.apache.camel.util.URISupport;

import io.pgrouter.delivery.Redeliverable;
import io.pgrouter.delivery.RetryingSinkEndpoint;
import io.pgrouter.delivery.SinkDeliveryException;

/**
 * One target endpoint and the name its events carry in dead letters, retries and metrics ({@code durable-sink}, or the
 * Kamelet built on it: {@code mqtt-sink}, ...). Its options: the target {@code uri}, the retry options of every sink,
 * and {@code permanentErrors}: exception class names that mean "refused for good" (dead letters at once).
 */
public class DurableSinkEndpoint extends RetryingSinkEndpoint {

    private final String sink;
    private String uri;
    private String permanentErrors = "";
    private Set<String> permanent = Set.of();
    private String where;
    private DurableSinkProducer producer;

    DurableSinkEndpoint(String endpointUri, String sink, DurableSinkComponent component) {
        super(endpointUri, component);
        this.sink = sink == null || sink.isBlank() ? "durable-sink" : sink;
    }

    void validate() {
        if (uri == null || uri.isBlank()) {
            throw new IllegalArgumentException(sink + " needs uri: the Camel endpoint to send each event to, e.g. uri: paho:orders?brokerUrl=tcp://mqtt:1883");
        }
        if (uri.startsWith("kamelet:") || uri.startsWith("pgdurable:")) {
            throw new IllegalArgumentException(sink + " uri " + where(uri) + " is itself a sink with the delivery contract: give the plain Camel endpoint");
        }
        permanent = Arrays.stream(permanentErrors.split(",")).map(String::trim).filter(s -> !s.isEmpty()).collect(Collectors.toUnmodifiableSet());
        where = where(uri);
    }

    /** The target as shown in logs, dead letters and health: passwords in its options masked. */
    private static String where(String uri) {
        return URISupport.sanitizeUri(uri);
    }

    String sink() {
        return sink;
    }

    String target() {
        return uri;
    }

    String where() {
        return where;
    }

    /** Whether a failure names one of the exception classes listed in {@code permanentErrors} (simple or full name), anywhere in its causes. */
    boolean listedPermanent(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (permanent.contains(t.getClass().getSimpleName()) || permanent.contains(t.getClass().getName())) return true;
        }
        return false;
    }

    @Override
    public synchronized Producer createProducer() {
        if (producer == null) producer = new DurableSinkProducer(this);
        return producer;
    }

    /** A hash of the sink name and target (the URI may hold a password): the key of the retry store. */
    @Override
    public String sinkKey() {
        return Redeliverable.sinkKey(sink, uri);
    }

    @Override
    public void redeliver(String eventJson) throws SinkDeliveryException, InterruptedException {
        ((DurableSinkProducer) createProducer()).redeliver(eventJson);
    }

    @Override
    public Consumer createConsumer(Processor processor) {
        throw new UnsupportedOperationException("pgdurable: is a sink");
    }

    @Override
    public DurableSinkComponent getComponent() {
        return (DurableSinkComponent) super.getComponent();
    }

    public String getUri() { return uri; }
    public void setUri(String uri) { this.uri = uri; }
    public String getPermanentErrors() { return permanentErrors; }
    public void setPermanentErrors(String permanentErrors) { this.permanentErrors = permanentErrors == null ? "" : permanentErrors; }
}
