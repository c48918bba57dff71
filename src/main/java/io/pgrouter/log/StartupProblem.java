package io.pgrouter.log;

import java.sql.SQLException;

import org.eclipse.microprofile.config.ConfigProvider;

import io.pgrouter.postgres.PostgresErrors;

/** A failed start told in one paragraph: what failed, where (file:line, setting), and the fix. */
public final class StartupProblem {

    static final String TRACE_HINT = "(The stack trace: start with -Dquarkus.log.category.\"io.pgrouter\".level=DEBUG.)";

    private StartupProblem() {
    }

    /** What is wrong and the fix, in one paragraph, for a route set that failed outside start-up (a reload, a check). */
    public static String describe(Throwable failure) {
        return what(failure).replace(" Then start the router again.", "");
    }

    /** @param traceFollows whether the stack trace is printed after the paragraph (DEBUG) */
    static String explain(Throwable failure, boolean traceFollows) {
        String what = what(failure);
        return "pg-event-router did not start. " + what + "\n" + (traceFollows ? "The stack trace:" : TRACE_HINT);
    }

    /** A TLS connection to PostgreSQL that could not be verified: which certificate setting to fix. */
    static String tlsFailed(Throwable failure) {
        for (Throwable t = failure; t != null && t.getCause() != t; t = t.getCause()) {
            String m = t.getMessage() == null ? "" : t.getMessage();
            boolean tls = t instanceof javax.net.ssl.SSLException || m.contains("PKIX path") || m.contains("does not match the hostname")
                    || m.contains("The hostname") || m.contains("SSL error") || m.contains("server does not support SSL");
            if (!tls) continue;
            String url = setting("pgrouter.postgres.url", "the configured database").replaceAll("(password=)[^&]*", "$1****");
            return "The TLS connection to PostgreSQL at " + url + " failed (" + firstLine(m) + "). With sslmode=verify-ca or verify-full the "
                    + "server's certificate must be signed by the CA in sslrootcert=<file> of pgrouter.postgres.url, and with verify-full "
                    + "name the host of the URL; sslmode=require encrypts without checking, and a server without TLS needs sslmode=prefer "
                    + "or disable.";
        }
        return null;
    }

    /** The first explanation that fits: a refused login, a route file that is not YAML, TLS, else the failure's own message. */
    private static String what(Throwable failure) {
        SQLException login = PostgresErrors.loginRefused(failure);
        if (login != null) return loginRefused(login);
        String yaml = notYaml(failure);
        if (yaml != null) return yaml;
        String tls = tlsFailed(failure);
        return tls != null ? tls : ourMessage(failure);
    }

    private static String loginRefused(SQLException e) {
        String user = setting("pgrouter.postgres.user", "postgres");
        String url = setting("pgrouter.postgres.url", "the embedded database");
        String answer = firstLine(e.getMessage());
        if ("28P01".equals(e.getSQLState())) {
            return "PostgreSQL at " + url + " refused the password of user " + user + " (" + answer + "). Set the right password in "
                    + "pgrouter.postgres.password (the environment variable PGROUTER_POSTGRES_PASSWORD, or config/application.properties "
                    + "beside the jar), or the right user in pgrouter.postgres.user.";
        }
        return "PostgreSQL at " + url + " refused user " + user + " (" + answer + "). Check pgrouter.postgres.user and "
                + "pgrouter.postgres.password (PGROUTER_POSTGRES_PASSWORD), and that pg_hba.conf lets this user connect from this host "
                + "with a password (scram-sha-256).";
    }

    /** Where a YAML parser stopped: the last mark of its message (problem, file, line, column, the line's text). */
    private static final java.util.regex.Pattern YAML_MARK = java.util.regex.Pattern.compile(
            "(?m)^(.+)\\R in (?:file:)?(\\S+), line (\\d+), column (\\d+):\\R(.*)$");

    /** A route file that is not valid YAML: the file, line and column, what the parser expected, and the usual fix. */
    private static String notYaml(Throwable failure) {
        for (Throwable t = failure; t != null && t.getCause() != t; t = t.getCause()) {
            if (t.getMessage() == null || !t.getClass().getName().toLowerCase(java.util.Locale.ROOT).contains("yaml")) continue;
            java.util.regex.Matcher m = YAML_MARK.matcher(t.getMessage());
            String[] last = null;
            while (m.find()) last = new String[] {m.group(1).trim(), m.group(2), m.group(3), m.group(4), m.group(5).trim()};
            if (last == null) continue;
            String where = last[1] + ":" + last[2] + " (column " + last[3] + (last[4].isEmpty() ? "" : ", at `" + last[4] + "`") + ")";
            String fix = last[0].contains("block")
                    ? "A key is probably indented wrongly: the keys of one mapping start in the same column (a step's `parameters:` lines up "
                            + "with its `uri:`), and YAML allows spaces only, no tabs."
                    : "Correct the YAML at that line.";
            return "Route file " + where + " is not valid YAML: " + last[0].replaceAll("\\.+$", "") + ". " + fix + " Then start the router again.";
        }
        return null;
    }

    /**
     * The message written for people: the first one in the cause chain thrown by the router's own code (it names the
     * route, file and setting), else the deepest one, with the route and its file:line when Camel names them.
     */
    private static String ourMessage(Throwable failure) {
        String deepest = null;
        String route = null;
        String routes = setting("pgrouter.routes.dir", "routes");
        for (Throwable t = failure; t != null && t.getCause() != t; t = t.getCause()) {
            if (route == null && t instanceof org.apache.camel.FailedToCreateRouteException f) route = route(f.getRouteId(), f.getLocation());
            if (route == null && t instanceof org.apache.camel.FailedToStartRouteException f) route = route(f.getRouteId(), f.getLocation());
            if (t instanceof java.nio.file.NoSuchFileException missing && missing.getFile() != null && missing.getFile().endsWith(routes)) {
                return "The routes folder " + missing.getFile() + " does not exist: create it, or set pgrouter.routes.dir (now " + routes
                        + ") to the folder with your route files.";
            }
            if (t.getMessage() != null && !t.getMessage().isBlank()) {
                if (t.getStackTrace().length > 0 && t.getStackTrace()[0].getClassName().startsWith("io.pgrouter.")) {
                    // a sink's option names the parameter; the route (and its file:line) says where it is set
                    return route == null || t.getMessage().contains(route) ? t.getMessage() : route + ": " + t.getMessage();
                }
                // the exception's name says what a bare message (a path, a number) does not
                deepest = t.getClass().getSimpleName() + ": " + t.getMessage();
            }
        }
        if (deepest == null) deepest = failure.toString();
        return route == null || deepest.contains(route) ? deepest : route + ": " + deepest;
    }

    private static String route(String id, String location) {
        if (id == null) return null;
        return "route '" + id + "'" + (location == null || location.isBlank() ? "" : " (" + location.replaceFirst("^file:", "") + ")");
    }

    private static String setting(String key, String otherwise) {
        try {
            return ConfigProvider.getConfig().getOptionalValue(key, String.class).orElse(otherwise);
        } catch (RuntimeException e) {
            return otherwise;
        }
    }

    private static String firstLine(String text) {
        if (text == null) return "";
        int nl = text.indexOf('\n');
        return (nl < 0 ? text : text.substring(0, nl)).trim();
    }
}
