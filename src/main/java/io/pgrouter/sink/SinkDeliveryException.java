package io.pgrouter.sink;

/**
 * A sink gave up on an event: what the dead-letter store keeps besides the event (the sink, the last status and
 * answer, how many attempts). Shared by every sink so there is one dead-letter record shape.
 */
public class SinkDeliveryException extends Exception {

    private final String sink;
    private final Integer lastStatus;
    private final String responseExcerpt;
    private final int attempts;

    public SinkDeliveryException(String sink, String message, Integer lastStatus, String responseExcerpt, int attempts, Throwable cause) {
        super(message, cause);
        this.sink = sink;
        this.lastStatus = lastStatus;
        this.responseExcerpt = responseExcerpt;
        this.attempts = attempts;
    }

    public String sink() {
        return sink;
    }

    public Integer lastStatus() {
        return lastStatus;
    }

    public String responseExcerpt() {
        return responseExcerpt;
    }

    public int attempts() {
        return attempts;
    }

    /** The sink failure in an exchange's exception chain, or null. */
    public static SinkDeliveryException in(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof SinkDeliveryException s) return s;
        }
        return null;
    }
}
