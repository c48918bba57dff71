package io.pgrouter.log;

import org.jboss.logging.Logger;

/**
 * A task that runs every second or two (the retry worker, the dead-letter replayer) reports a problem once when it
 * starts or changes, and once when it is over, instead of every round while PostgreSQL is away.
 */
public final class RecurringProblem {

    private final Logger log;
    private final String task;
    private String current;

    /** @param task what the task does, as the start of the log line (e.g. {@code retrying waiting events}) */
    public RecurringProblem(Logger log, String task) {
        this.log = log;
        this.task = task;
    }

    public synchronized void failed(String problem) {
        if (problem.equals(current)) {
            log.debugf("%s: %s", task, problem);
        } else {
            log.warnf("%s: %s (said again only when it changes)", task, problem);
        }
        current = problem;
    }

    public synchronized void ok() {
        if (current != null) log.infof("%s works again", task);
        current = null;
    }
}
