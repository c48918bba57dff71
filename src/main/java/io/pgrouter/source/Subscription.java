package io.pgrouter.source;

import java.util.Set;

import io.pgrouter.event.CanonicalEvent;
import io.pgrouter.event.Op;

/**
 * What one route asked for: tables (as {@code schema.table}) for WAL row changes; channels for NOTIFY, or
 * message prefixes for logical-decoding messages (the durable NOTIFY); and operations (empty = any). {@code anyEvent}: a
 * route that names neither tables nor channels and takes every event of its source ({@code pg:kafka?topics=...}).
 */
public record Subscription(Set<String> tables, Set<String> channels, Set<Op> ops, boolean anyEvent) {

    public Subscription(Set<String> tables, Set<String> channels, Set<Op> ops) {
        this(tables, channels, ops, false);
    }

    public boolean matches(CanonicalEvent event) {
        if (!ops.isEmpty() && !ops.contains(event.op())) return false;
        if (anyEvent) return true;
        if (event.channel() != null) {
            // a notification or message: by channel, then (for trigger payloads) by table if the route names tables
            return channels.contains(event.channel())
                    && (tables.isEmpty() || event.table() == null || tables.contains(event.qualifiedTable()));
        }
        return tables.contains(event.qualifiedTable());
    }
}
