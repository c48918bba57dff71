package io.pgrouter.event;

import java.util.Locale;

/** What happened, as routes see it in the {@code pgOp} header and the {@code pgop} extension. */
public enum Op {
    // the row operations first (ceType relies on the order)
    INSERT, UPDATE, DELETE, TRUNCATE, SNAPSHOT, NOTIFY, MESSAGE;

    // asked for several times per event: computed once
    private final String wire = name().toLowerCase(Locale.ROOT);
    // not isRow(): the other constants are still null while this one is constructed
    private final String ceType = (ordinal() <= 4 ? "postgres.row." : "postgres.") + wire;

    public String wire() {
        return wire;
    }

    public boolean isRow() {
        return this == INSERT || this == UPDATE || this == DELETE || this == TRUNCATE || this == SNAPSHOT;
    }

    public String ceType() {
        return ceType;
    }

    public static Op fromWire(String value) {
        try {
            return Op.valueOf(value.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown operation '" + value + "' (expected one of insert, update, delete, truncate, snapshot, notify, message)");
        }
    }
}
