package io.pgrouter.event;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * A destination name built from an event, such as a routing key {@code ${schema}.${table}.${op}}: the variables are
 * the event's facts (database, schema, table, op, subject, channel, type); a fact the event lacks (a message has no
 * table) becomes an empty string. Unknown variables fail when the template is parsed, so a typo stops start-up.
 */
public final class EventTemplate {

    /** Template variable → the CloudEvent attribute it reads. */
    private static final Map<String, String> VARIABLES = Map.of("database", "pgdatabase", "schema", "pgschema", "table", "pgtable", "op", "pgop",
            "subject", "subject", "channel", "pgchannel", "type", "type");
    private static final Pattern VARIABLE = Pattern.compile("\\$\\{([a-z]+)}");

    private final String text;
    private final List<String> literals = new ArrayList<>();
    private final List<String> attributes = new ArrayList<>();

    private EventTemplate(String text) {
        this.text = text;
        Matcher m = VARIABLE.matcher(text);
        int at = 0;
        while (m.find()) {
            String attribute = VARIABLES.get(m.group(1));
            if (attribute == null) {
                throw new IllegalArgumentException("unknown variable ${" + m.group(1) + "} in '" + text + "'; known: " + String.join(", ",
                        new java.util.TreeSet<>(VARIABLES.keySet())));
            }
            literals.add(text.substring(at, m.start()));
            attributes.add(attribute);
            at = m.end();
        }
        literals.add(text.substring(at));
    }

    public static EventTemplate parse(String text) {
        return new EventTemplate(text == null ? "" : text);
    }

    /** True when the result is the same for every event (no variable). */
    public boolean constant() {
        return attributes.isEmpty();
    }

    /** The name for this event (its JSON form, as {@link CanonicalEvent#toJsonNode()} writes it). */
    public String apply(JsonNode event) {
        if (attributes.isEmpty()) return text;
        StringBuilder s = new StringBuilder(literals.get(0));
        for (int i = 0; i < attributes.size(); i++) {
            JsonNode value = event.get(attributes.get(i));
            if (value != null && !value.isNull()) s.append(value.asText());
            s.append(literals.get(i + 1));
        }
        return s.toString();
    }

    @Override
    public String toString() {
        return text;
    }
}
