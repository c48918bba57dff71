package io.pgrouter.delivery;

/**
 * One event on its way to a sink, as the delivery contract needs it: the JSON the retry store and dead letters keep
 * (re-sent byte for byte), the subject whose order holds, and the user's route that took it (replays go back there).
 */
public interface SinkEvent {

    String json();

    String subject();

    String routeId();
}
