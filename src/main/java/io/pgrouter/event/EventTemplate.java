package io.pgrouter.event;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The one template language for names built from an event: Kafka topics, RabbitMQ exchanges and routing keys, search
 * index names. A placeholder is one of
 * <ul>
 * <li>{@code ${database}}, {@code ${schema}}, {@code ${table}}, {@code ${op}}, {@code ${subject}}, {@code ${channel}},
 * {@code ${type}}, {@code ${id}}: the event's facts;</li>
 * <li>{@code ${after.col}}, {@code ${before.col}}: a column of the row's new or old image, also written
 * {@code ${$.after.col}} or, as a path into the whole CloudEvent, {@code ${$.data.after.col}};</li>
 * <li>{@code ${data.field.inner}}: a member of a NOTIFY or message payload;</li>
 * </ul>
 * and any of them may end in {@code :-default}, the text used when the event has no value for it
 * ({@code ${after.region:-eu}}). Checked when parsed: an unknown placeholder fails at start-up. The rule for a value
 * the event lacks at run time (absent, null, or an object or array rather than a single value) and no default:
 * {@link MissingValue}, which every sink turns into a dead letter naming the template and the placeholder.
 */
public final class EventTemplate {

    /** Placeholder → the CloudEvent attribute it reads. */
    private static final Map<String, String> FACTS = facts();
    private static final Pattern PLACEHOLDER = Pattern.compile("\\$\\{([^}]*)}");
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_-]+");
    /** The first segments of a path that name a part of the event's data. */
    private static final List<String> ROW_IMAGES = List.of("after", "before");

    /** In the order error messages list them. */
    private static Map<String, String> facts() {
        String[] pairs = {"database", "pgdatabase", "schema", "pgschema", "table", "pgtable", "op", "pgop", "subject", "subject",
            "channel", "pgchannel", "type", "type", "id", "id"};
        Map<String, String> facts = new LinkedHashMap<>();
        for (int i = 0; i < pairs.length; i += 2) facts.put(pairs[i], pairs[i + 1]);
        return facts;
    }

    /** What the event had not: the template, the placeholder and the event, in a sentence with the fix. */
    public static final class MissingValue extends Exception {
        public MissingValue(String message) {
            super(message);
        }
    }

    /** One placeholder: a fact ({@code attribute}) or a path into the event's data, and its default (or null). */
    private record Placeholder(String text, String attribute, String[] dataPath, String fallback) {
    }

    private final String text;
    private final List<String> literals = new ArrayList<>();
    private final List<Placeholder> placeholders = new ArrayList<>();

    private EventTemplate(String text) {
        this.text = text;
        Matcher m = PLACEHOLDER.matcher(text);
        int at = 0;
        while (m.find()) {
            literals.add(text.substring(at, m.start()));
            placeholders.add(placeholder(m.group(0), m.group(1)));
            at = m.end();
        }
        literals.add(text.substring(at));
    }

    private Placeholder placeholder(String whole, String inside) {
        String expression = inside;
        String fallback = null;
        int dash = inside.indexOf(":-");
        if (dash >= 0) {
            expression = inside.substring(0, dash);
            fallback = inside.substring(dash + 2);
        }
        expression = expression.trim();
        boolean rooted = expression.startsWith("$.");
        String path = rooted ? expression.substring(2) : expression;
        String[] segments = path.split("\\.", -1);
        for (String s : segments) {
            if (!NAME.matcher(s).matches()) throw unknown(whole);
        }
        if (segments.length == 1) {
            String fact = FACTS.get(path);
            if (fact != null && !rooted) return new Placeholder(whole, fact, null, fallback);
            if (rooted && FACTS.containsValue(path)) return new Placeholder(whole, path, null, fallback);
            throw unknown(whole);
        }
        if (ROW_IMAGES.contains(segments[0])) return new Placeholder(whole, null, segments, fallback);
        if (segments[0].equals("data")) return new Placeholder(whole, null, java.util.Arrays.copyOfRange(segments, 1, segments.length), fallback);
        throw unknown(whole);
    }

    private IllegalArgumentException unknown(String placeholder) {
        StringBuilder known = new StringBuilder();
        FACTS.keySet().forEach(f -> known.append("${").append(f).append("}, "));
        return new IllegalArgumentException("unknown placeholder " + placeholder + " in '" + text + "'. Known: " + known
                + "${after.<column>}, ${before.<column>}, ${data.<field>} (each may be written ${$.…}), and any of them with a default, "
                + "${table:-none}. Correct the template");
    }

    /** @throws IllegalArgumentException naming an unknown placeholder and what is known */
    public static EventTemplate parse(String text) {
        return new EventTemplate(text == null ? "" : text);
    }

    /** True when the result is the same for every event (no placeholder). */
    public boolean constant() {
        return placeholders.isEmpty();
    }

    /** True when a placeholder reads the event's data (a column), not only its attributes. */
    public boolean readsData() {
        return placeholders.stream().anyMatch(p -> p.attribute() == null);
    }

    /** The name for this event, given as its JSON form (as {@link CanonicalEvent#toJsonNode()} writes it). */
    public String apply(JsonNode event) throws MissingValue {
        return apply(name -> text(event.get(name)), () -> event.get("data"), () -> text(event.get("id")));
    }

    /** The name for this event. */
    public String apply(CanonicalEvent event) throws MissingValue {
        Map<String, String> attributes = event.attributes();
        return apply(attributes::get, event::data, event::id);
    }

    /** The name for an event known by its attributes (as text); {@code data} is read only when a placeholder needs it. */
    public String apply(Map<String, String> attributes, Supplier<JsonNode> data) throws MissingValue {
        return apply(attributes::get, data, () -> attributes.get("id"));
    }

    private String apply(Function<String, String> attribute, Supplier<JsonNode> data, Supplier<String> id) throws MissingValue {
        if (placeholders.isEmpty()) return text;
        StringBuilder s = new StringBuilder(literals.get(0));
        for (int i = 0; i < placeholders.size(); i++) {
            Placeholder p = placeholders.get(i);
            String value = p.attribute() != null ? attribute.apply(p.attribute()) : text(walk(data.get(), p.dataPath()));
            if (value == null) {
                if (p.fallback() == null) {
                    throw new MissingValue("template '" + text + "' has no value for " + p.text() + " in event " + id.get()
                            + " (absent, null or not a single value): the event goes to dead letters. Give the placeholder a default ("
                            + p.text().substring(0, p.text().length() - 1) + ":-…}) or filter such events out before the sink");
                }
                value = p.fallback();
            }
            s.append(value).append(literals.get(i + 1));
        }
        return s.toString();
    }

    private static JsonNode walk(JsonNode node, String[] path) {
        for (String segment : path) {
            if (node == null) return null;
            node = node.get(segment);
        }
        return node;
    }

    /** A single value as text; null for absent, null, objects and arrays. */
    private static String text(JsonNode value) {
        return value == null || value.isNull() || value.isContainerNode() || value.isMissingNode() ? null : value.asText();
    }

    @Override
    public String toString() {
        return text;
    }
}
