package io.pgrouter.sink.datalake;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The event's facts a lake row can carry beside the row's columns (parameter {@code fields}). {@code _unchanged}, the
 * columns PostgreSQL did not send, is always written: without it a NULL in the lake could be a value or a gap.
 */
enum MetaField {
    EVENT_ID("_event_id"), OP("_op"), LSN("_lsn"), COMMIT_TIME("_commit_time"), SUBJECT("_subject"), TXID("_txid"), CHANGED("_changed"),
    UNCHANGED("_unchanged");

    static final String DEFAULT = "_event_id,_op,_lsn,_commit_time,_unchanged";

    final String column;

    MetaField(String column) {
        this.column = column;
    }

    static List<MetaField> parse(String fields) {
        List<MetaField> parsed = new ArrayList<>();
        for (String name : fields.split(",")) {
            String n = name.trim().toLowerCase(Locale.ROOT);
            if (n.isEmpty()) continue;
            MetaField found = null;
            for (MetaField f : values()) if (f.column.equals(n) || f.column.equals("_" + n)) found = f;
            if (found == null) throw new IllegalArgumentException("datalake-sink fields: unknown field '" + name.trim() + "'; known: "
                    + String.join(",", java.util.Arrays.stream(values()).map(f -> f.column).toList()));
            if (!parsed.contains(found)) parsed.add(found);
        }
        if (!parsed.contains(UNCHANGED)) parsed.add(UNCHANGED);
        return parsed;
    }
}
