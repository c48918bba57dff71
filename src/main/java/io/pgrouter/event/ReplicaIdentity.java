package io.pgrouter.event;

import java.util.List;

/**
 * A table's replica identity: which old values PostgreSQL writes to the WAL for an update or delete. With {@code FULL}
 * the whole old row; with {@code DEFAULT} (the primary key) or {@code USING INDEX} only those columns, and for an update
 * only when one of them changed; with {@code NOTHING} (or DEFAULT without a primary key) none.
 *
 * @param kind {@code DEFAULT}, {@code FULL}, {@code USING INDEX} or {@code NOTHING}
 * @param columns the identity's columns in table order (empty for FULL and NOTHING)
 */
public record ReplicaIdentity(String kind, List<String> columns) {

    public static final String FULL = "FULL";

    public ReplicaIdentity {
        columns = List.copyOf(columns);
    }

    /** PostgreSQL sends the whole old row: {@code before} is complete and {@code changed} exact. */
    public boolean full() {
        return FULL.equals(kind);
    }

    /** PostgreSQL refuses UPDATE and DELETE on such a table while a publication publishes them. */
    public boolean none() {
        return !full() && columns.isEmpty();
    }
}
