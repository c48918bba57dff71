package io.pgrouter.source.wal;

import io.pgrouter.event.CanonicalEvent;
import io.pgrouter.event.Op;

/**
 * A transaction that starts with {@code SELECT pg_logical_emit_message(true, 'pgrouter.skip', 'migration 42')} marks
 * every later event of it with {@code pgskip} = the message's text, so routes can drop a migration's flood with
 * {@code ${header.pgSkip} == null}. pgoutput hands a transaction over whole at its commit, in WAL order, so the
 * message comes before the rows written after it, and nothing of another transaction comes in between.
 */
final class SkipMarks {

    /** The logical-decoding message prefix that marks a transaction. */
    static final String PREFIX = "pgrouter.skip";

    private Long txid;
    private String reason;

    CanonicalEvent mark(CanonicalEvent event) {
        if (event.txid() == null) return event;
        if (event.op() == Op.MESSAGE && PREFIX.equals(event.channel())) {
            txid = event.txid();
            String text = event.data() == null || event.data().isNull() ? "" : event.data().isTextual() ? event.data().asText() : event.data().toString();
            reason = text.isBlank() ? PREFIX : text;
            return event;
        }
        if (!event.txid().equals(txid)) {
            txid = null;
            reason = null;
            return event;
        }
        return event.withSkip(reason);
    }
}
