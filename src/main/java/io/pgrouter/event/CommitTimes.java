package io.pgrouter.event;

import java.time.Instant;

/**
 * An event's {@code time} (RFC 3339, UTC) formatted from the WAL's commit timestamp and parsed back, with the last
 * one kept: every row of a transaction carries the same commit time, and formatting it per event in the mapper and
 * parsing it per event (for the commit-to-delivered timer, Parquet's {@code _commit_time}) took ~10 % of the WAL
 * thread in a profile.
 */
public final class CommitTimes {

    private record Last(String text, Instant instant) {
    }

    // one shared slot: a miss only costs a format or parse, and the record is immutable, so threads may race on it safely
    private static volatile Last last = new Last("1970-01-01T00:00:00Z", Instant.EPOCH);

    private CommitTimes() {
    }

    /** The RFC 3339 text of a commit timestamp in microseconds since the epoch. */
    public static String format(long epochMicros) {
        Last l = last;
        Instant instant = Instant.EPOCH.plusNanos(epochMicros * 1000);
        if (l.instant().equals(instant)) return l.text();
        String text = instant.toString();
        last = new Last(text, instant);
        return text;
    }

    public static Instant parse(String time) {
        Last l = last;
        if (l.text().equals(time)) return l.instant();
        Instant parsed = Instant.parse(time);
        last = new Last(time, parsed);
        return parsed;
    }
}
