package io.pgrouter.source;

import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.stream.Collectors;

import org.apache.camel.Consumer;
import org.apache.camel.Processor;
import org.apache.camel.Producer;
import org.apache.camel.support.DefaultEndpoint;

import io.pgrouter.event.Op;

/**
 * One subscription: {@code pg:wal}, {@code pg:notify} or {@code pg:kafka} (the second tier: events a first-tier router wrote
 * to Kafka) with the tables, channels and operations a route wants.
 */
public class PgEndpoint extends DefaultEndpoint implements org.apache.camel.MultipleConsumersSupport {

    public enum Kind { WAL, NOTIFY, KAFKA }

    private final Kind kind;
    private String tables;
    private String ops;
    private String channels;
    private String messages;
    private String topics;
    private String group;

    PgEndpoint(String uri, PgComponent component, Kind kind) {
        super(uri, component);
        this.kind = kind;
    }

    /** Each route subscribes to the shared source on its own: two routes may read the same tables with the same URI. */
    @Override
    public boolean isMultipleConsumersSupported() {
        return true;
    }

    @Override
    public Producer createProducer() {
        throw new UnsupportedOperationException("pg: is a source only; publish a NOTIFY with pgevent: or a message with the sql component");
    }

    @Override
    public Consumer createConsumer(Processor processor) throws Exception {
        PgConsumer consumer = new PgConsumer(this, processor, subscription());
        configureConsumer(consumer);
        return consumer;
    }

    Subscription subscription() {
        Set<String> tableSet = split(tables).stream().map(t -> t.contains(".") ? t : "public." + t)
                .collect(Collectors.toCollection(LinkedHashSet::new));
        Set<Op> opSet = split(ops).stream().map(Op::fromWire).collect(Collectors.toCollection(LinkedHashSet::new));
        Set<String> channelSet = kind == Kind.WAL ? split(messages) : split(channels);
        if (kind == Kind.WAL && channels != null) {
            throw new IllegalArgumentException("pg:wal takes tables= and messages=; channels= belongs to pg:notify");
        }
        if (kind == Kind.NOTIFY && messages != null) {
            throw new IllegalArgumentException("pg:notify takes channels=; messages= belongs to pg:wal");
        }
        if (kind == Kind.WAL && tableSet.isEmpty() && channelSet.isEmpty()) {
            throw new IllegalArgumentException("pg:wal needs tables=schema.table,... or messages=prefix,...");
        }
        if (kind == Kind.NOTIFY && channelSet.isEmpty()) {
            throw new IllegalArgumentException("pg:notify needs channels=name,...");
        }
        if (kind != Kind.KAFKA && (topics != null || group != null)) {
            throw new IllegalArgumentException("topics= and group= belong to pg:kafka; pg:" + kind.name().toLowerCase(java.util.Locale.ROOT) + " reads PostgreSQL");
        }
        if (kind == Kind.KAFKA) {
            if (split(topics).isEmpty()) throw new IllegalArgumentException("pg:kafka needs topics=name,... (the topics the kafka sink writes)");
            // messages= and channels= both name the channel of NOTIFY and message events; no filter takes every event
            Set<String> kafkaChannels = new LinkedHashSet<>(split(messages));
            kafkaChannels.addAll(split(channels));
            return new Subscription(tableSet, kafkaChannels, opSet, tableSet.isEmpty() && kafkaChannels.isEmpty());
        }
        return new Subscription(tableSet, channelSet, opSet);
    }

    private static Set<String> split(String list) {
        if (list == null || list.isBlank()) return Set.of();
        return Arrays.stream(list.split(",")).map(String::trim).filter(s -> !s.isEmpty())
                .collect(Collectors.toCollection(LinkedHashSet::new));
    }

    public Kind getKind() {
        return kind;
    }

    @Override
    public PgComponent getComponent() {
        return (PgComponent) super.getComponent();
    }

    public String getTables() { return tables; }
    public void setTables(String tables) { this.tables = tables; }
    public String getOps() { return ops; }
    public void setOps(String ops) { this.ops = ops; }
    public String getChannels() { return channels; }
    public void setChannels(String channels) { this.channels = channels; }
    public String getMessages() { return messages; }
    public void setMessages(String messages) { this.messages = messages; }
    public String getTopics() { return topics; }
    public void setTopics(String topics) { this.topics = topics; }
    public String getGroup() { return group; }
    public void setGroup(String group) { this.group = group; }
}
