package io.pgrouter.sink.durable;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import org.apache.camel.CamelContext;
import org.apache.camel.Expression;
import org.apache.camel.spi.Language;
import org.apache.camel.util.URISupport;

import io.pgrouter.delivery.SinkConfig;

/**
 * The durable sink's options ({@code kamelets/durable-sink.kamelet.yaml} and the Kamelets built on it): one target
 * endpoint and the name its events carry in dead letters, retries and metrics ({@code durable-sink}, or the
 * Kamelet built on it: {@code mqtt-sink}, ...). Its options: the target {@code uri}, the retry options of every sink,
 * {@code permanentErrors}: exception class names that mean "refused for good" (dead letters at once), and
 * {@code headers}: headers set from Camel Simple expressions, for components that read the message from headers.
 */
public class DurableConfig extends SinkConfig {

    private String sink = "durable-sink";
    private String uri;
    private String permanentErrors = "";
    private String headers = "";
    private Set<String> permanent = Set.of();
    private Map<String, Expression> headerExpressions = Map.of();
    private String where;

    /** {@code pgdurable:<sink name>}: the name its events carry, {@code durable-sink} when none is given. */
    @Override
    public void path(String path) {
        if (path != null && !path.isBlank()) sink = path;
    }

    @Override
    public String sink() {
        return sink;
    }

    @Override
    protected void validate(CamelContext camel) {
        if (uri == null || uri.isBlank()) {
            throw new IllegalArgumentException(sink + " needs uri: the Camel endpoint to send each event to, e.g. uri: paho:orders?brokerUrl=tcp://mqtt:1883");
        }
        if (uri.startsWith("kamelet:") || uri.startsWith("pgdurable:")) {
            throw new IllegalArgumentException(sink + " uri " + where(uri) + ": give a Camel component's endpoint, not a Kamelet (a Kamelet made at run "
                    + "time has no route to receive it); a component that reads the message from headers gets them from the headers option");
        }
        permanent = Arrays.stream(permanentErrors.split(",")).map(String::trim).filter(s -> !s.isEmpty()).collect(Collectors.toUnmodifiableSet());
        headerExpressions = parseHeaders(camel);
        where = where(uri);
    }

    /** {@code Name=simple expression; Name2=...}: checked now, so a typo fails at start naming the header. */
    private Map<String, Expression> parseHeaders(CamelContext camel) {
        Map<String, Expression> out = new LinkedHashMap<>();
        Language simple = camel.resolveLanguage("simple");
        for (String pair : headers.split(";")) {
            if (pair.isBlank()) continue;
            int eq = pair.indexOf('=');
            if (eq < 1) throw new IllegalArgumentException(sink + " headers: '" + pair.trim() + "' is not Name=expression (pairs are separated by ;)");
            String name = pair.substring(0, eq).trim();
            try {
                out.put(name, simple.createExpression(pair.substring(eq + 1).trim()));
            } catch (RuntimeException e) {
                throw new IllegalArgumentException(sink + " headers: the expression of " + name + " is not Camel Simple: " + e.getMessage(), e);
            }
        }
        return java.util.Collections.unmodifiableMap(out);
    }

    /** The target as shown in logs, dead letters and health: passwords in its options masked. */
    private static String where(String uri) {
        return URISupport.sanitizeUri(uri);
    }

    String target() {
        return uri;
    }

    @Override
    public String where() {
        return where;
    }

    /** The headers set on each attempt's message, in order, from the event's headers and body. */
    Map<String, Expression> headerExpressions() {
        return headerExpressions;
    }

    /** Whether a failure names one of the exception classes listed in {@code permanentErrors} (simple or full name), anywhere in its causes. */
    boolean listedPermanent(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (permanent.contains(t.getClass().getSimpleName()) || permanent.contains(t.getClass().getName())) return true;
        }
        return false;
    }

    /** The sink name and target (the URI may hold a password: only the hash is stored). */
    @Override
    protected String identity() {
        return uri;
    }

    public String getUri() { return uri; }
    public void setUri(String uri) { this.uri = uri; }
    public String getHeaders() { return headers; }
    public void setHeaders(String headers) { this.headers = headers == null ? "" : headers; }
    public String getPermanentErrors() { return permanentErrors; }
    public void setPermanentErrors(String permanentErrors) { this.permanentErrors = permanentErrors == null ? "" : permanentErrors; }
}
