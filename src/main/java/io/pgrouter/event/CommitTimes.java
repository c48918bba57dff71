package io.pgrouter.event;

import java.time.Instant;

/**
 * Parses an event's {@code time} (RFC 3339, UTC) with the last result kept: every row of a transaction carries the
 * same commit time, and parsing it per event (for the commit-to-delivered timer, Parquet's {@code _commit_time})
 * took ~10 % of the WAL thread in a profile.
 */
public final class CommitTimes {

    private record Parsed(String text, Instant instant) {
    }

    // one shared slot: a miss only costs a parse, and the record is immutable, so threads may race on it safely
    private static volatile Parsed last = new Parsed("1970-01-01T00:00:00Z", Instant.EPOCH);

    private CommitTimes() {
    }

    public static Instant parse(String time) {
        Parsed p = last;
        if (p.text().equals(time)) return p.instant();
        Instant parsed = Instant.parse(time);
        last = new Parsed(time, parsed);
        return parsed;
    }
}
