package io.pgrouter.sink.email;

import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * {@code SELECT email FROM marketplace.subscriptions WHERE category = :category}: a query whose first column gives
 * recipients, with {@code :name} parameters taken from the event. {@code :name} is the field {@code name} of the row
 * ({@code data.after}, or {@code data.before} when there is no after: a delete) or, for a notification or message,
 * of its JSON payload ({@code data}). A name the event lacks fails like a template's; a SQL NULL binds as NULL.
 * {@code ::type} casts and quoted text are left alone.
 */
final class RecipientsQuery {

    private final String text;
    private final String jdbc;
    private final List<String> parameters = new ArrayList<>();

    private RecipientsQuery(String text) {
        this.text = text;
        StringBuilder sql = new StringBuilder(text.length());
        char quote = 0;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (quote != 0) {
                if (c == quote) quote = 0;
            } else if (c == '\'' || c == '"') {
                quote = c;
            } else if (c == ':' && i + 1 < text.length() && text.charAt(i + 1) == ':') {
                sql.append("::");
                i++;
                continue;
            } else if (c == ':' && i + 1 < text.length() && Character.isJavaIdentifierStart(text.charAt(i + 1))) {
                int end = i + 1;
                while (end < text.length() && Character.isJavaIdentifierPart(text.charAt(end))) end++;
                parameters.add(text.substring(i + 1, end));
                sql.append('?');
                i = end - 1;
                continue;
            }
            sql.append(c);
        }
        if (quote != 0) throw new IllegalArgumentException("email-sink recipientsQuery has an unterminated " + quote + " quote: " + text);
        this.jdbc = sql.toString();
    }

    /** Null for an empty query. */
    static RecipientsQuery parse(String text) {
        return text == null || text.isBlank() ? null : new RecipientsQuery(text.trim());
    }

    /** The query with {@code ?} in place of each {@code :name}. */
    String jdbc() {
        return jdbc;
    }

    /** The values for the {@code ?}s, in order, as text (PostgreSQL infers their types); null for a SQL NULL. */
    List<String> values(JsonNode event) {
        JsonNode data = event.path("data");
        JsonNode row = data.path("after").isObject() ? data.path("after") : data.path("before").isObject() ? data.path("before") : data;
        List<String> values = new ArrayList<>(parameters.size());
        for (String name : parameters) {
            JsonNode value = row.get(name);
            if (value == null) {
                throw new IllegalArgumentException("email-sink recipientsQuery: the event has no value for :" + name + " (it reads field '" + name
                        + "' of the row, or of the payload of a notification or message)");
            }
            values.add(value.isNull() ? null : value.isValueNode() ? value.asText() : value.toString());
        }
        return values;
    }

    @Override
    public String toString() {
        return text;
    }
}
