package io.pgrouter.log;

import java.util.logging.Filter;
import java.util.logging.Level;
import java.util.logging.LogRecord;

import org.jboss.logmanager.ExtLogRecord;

import io.pgrouter.postgres.PostgresErrors;
import io.quarkus.logging.LoggingFilter;

/**
 * Keeps the console readable (quarkus.log.console.filter): a start-up failure becomes one paragraph (what failed,
 * where, the fix; see {@link StartupProblem}) instead of chains of "Caused by", and Debezium's ERROR traces for a lost
 * PostgreSQL connection (and its reports of the stopped engine), which the WAL source handles and reports in one line
 * (a WARN per outage, an ERROR for anything else), are dropped; so are Camel's copies of a failed start. With
 * {@code quarkus.log.category."io.pgrouter".level=DEBUG} the stack traces are kept: a failed start's once, after the
 * paragraph.
 */
@LoggingFilter(name = "pgrouter-readable-errors")
public final class ReadableErrors implements Filter {

    /** The logger Quarkus reports a failed start on: the one record of it that is kept, as a paragraph. */
    static final String STARTUP = "io.quarkus.runtime.Application";
    /** Camel reports the same failed start before Quarkus does, each with the whole trace: logger and message start. */
    static final java.util.Map<String, String> STARTUP_REPEATS = java.util.Map.of("org.apache.camel.quarkus.main.CamelMainRuntime",
            "Failed to start application", "org.apache.camel.impl.engine.AbstractCamelContext", "Error starting CamelContext");
    /** Debezium's report of a stopped engine: the WAL source reports the stop itself, with the reason and what it does. */
    static final String ENGINE_ERRORS = "io.debezium.pipeline.ErrorHandler";
    /** The engine's own trace of why it stopped ("Engine has failed with"): the WAL source reports every stop in one line. */
    static final String ENGINE_RUNNER = "io.debezium.embedded.async.AsyncEmbeddedEngine";

    @Override
    public boolean isLoggable(LogRecord record) {
        if (record.getLevel().intValue() < Level.WARNING.intValue()) return true;
        String logger = record.getLoggerName() == null ? "" : record.getLoggerName();
        Throwable thrown = record.getThrown();
        if (logger.startsWith("io.debezium")) {
            boolean handled = (thrown != null && PostgresErrors.connectionLost(thrown))
                    || (ENGINE_ERRORS.equals(logger) && record.getLevel().intValue() >= Level.SEVERE.intValue())
                    || (ENGINE_RUNNER.equals(logger) && record.getMessage() != null && record.getMessage().startsWith("Engine has failed"));
            return !handled || traces();
        }
        if (thrown == null || record.getLevel().intValue() < Level.SEVERE.intValue()) return true;
        String repeat = STARTUP_REPEATS.get(logger);
        if (repeat != null && record.getMessage() != null && record.getMessage().startsWith(repeat)) return false;
        if (STARTUP.equals(logger)) {
            boolean traces = traces();
            String paragraph = StartupProblem.explain(thrown, traces);
            if (record instanceof ExtLogRecord ext) {
                ext.setMessage(paragraph, ExtLogRecord.FormatStyle.NO_FORMAT);
            } else {
                record.setMessage(paragraph);
            }
            record.setParameters(null);
            if (!traces) record.setThrown(null);
        }
        return true;
    }

    private static boolean traces() {
        return org.jboss.logging.Logger.getLogger("io.pgrouter").isDebugEnabled();
    }
}
