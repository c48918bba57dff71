package io.pgrouter.source;

/** A shared source that routes' consumers subscribe to. */
public interface EventSource {

    /** Checks the subscription against the database (tables exist, ...) and registers it. */
    void subscribe(PgConsumer consumer) throws Exception;

    void unsubscribe(PgConsumer consumer);
}
