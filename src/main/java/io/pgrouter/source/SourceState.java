package io.pgrouter.source;

/** What a source reports to health: whether it is up and, when not, why. */
public record SourceState(boolean up, String detail) {

    public static SourceState up(String detail) {
        return new SourceState(true, detail);
    }

    public static SourceState down(String detail) {
        return new SourceState(false, detail);
    }
}
