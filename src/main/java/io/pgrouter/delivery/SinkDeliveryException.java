package io.pgrouter.delivery;

/**
 * A sink gave up on an event: what the dead-letter store keeps besides the event (the sink, the last status and
 * answer, how many attempts). Shared by every sink so there is one dead-letter record shape.
 */
public class SinkDeliveryException extends Exception {

    private final String sink;
    private final Integer lastStatus;
    private final String responseExcerpt;
    private final int attempts;
    private final boolean retryable;
    private final Long retryAfterMs;

    public SinkDeliveryException(String sink, String message, Integer lastStatus, String responseExcerpt, int attempts, Throwable cause) {
        this(sink, message, lastStatus, responseExcerpt, attempts, false, null, cause);
    }

    public SinkDeliveryException(String sink, String message, Integer lastStatus, String responseExcerpt, int attempts, boolean retryable,
            Long retryAfterMs, Throwable cause) {
        super(message, cause);
        this.sink = sink;
        this.lastStatus = lastStatus;
        this.responseExcerpt = responseExcerpt;
        this.attempts = attempts;
        this.retryable = retryable;
        this.retryAfterMs = retryAfterMs;
    }

    /** Worth trying again later (a timeout, 5xx, 429...), as opposed to an answer that will not change. */
    public boolean retryable() {
        return retryable;
    }

    /** How long the receiver asked to wait, when it did. */
    public Long retryAfterMs() {
        return retryAfterMs;
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

    /** The same failure, counting {@code attempts} attempts. */
    public SinkDeliveryException withAttempts(int attempts) {
        return new SinkDeliveryException(sink, getMessage(), lastStatus, responseExcerpt, attempts, retryable, retryAfterMs, getCause());
    }

    /** The sink failure in an exchange's exception chain, or null. */
    public static SinkDeliveryException in(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof SinkDeliveryException s) return s;
        }
        return null;
    }
}
