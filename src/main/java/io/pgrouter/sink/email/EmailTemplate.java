package io.pgrouter.sink.email;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

import com.fasterxml.jackson.databind.JsonNode;

import io.quarkus.qute.Engine;
import io.quarkus.qute.EvalContext;
import io.quarkus.qute.HtmlEscaper;
import io.quarkus.qute.Results;
import io.quarkus.qute.Template;
import io.quarkus.qute.TemplateException;
import io.quarkus.qute.ValueResolver;
import io.quarkus.qute.Variant;

/**
 * A Qute template over the event's JSON: {@code {data.after.email}}, {@code {subject}}, {@code {pgtable}}. One rule for
 * a name the event lacks: rendering fails with an error naming the template and the expression (the event then goes
 * to dead letters), unless the template says what to use instead ({@code {data.after.name ?: 'customer'}}) or that it
 * may be empty ({@code {data.after.note??}}). A JSON null renders as nothing. HTML templates escape the event's values.
 */
final class EmailTemplate {

    /** Objects and arrays of the event resolve their fields and indexes; a field that is not there is "not found". */
    private static final ValueResolver JSON_FIELDS = new ValueResolver() {
        @Override
        public boolean appliesTo(EvalContext context) {
            return context.getBase() instanceof JsonNode node && node.isContainerNode();
        }

        @Override
        public CompletionStage<Object> resolve(EvalContext context) {
            JsonNode base = (JsonNode) context.getBase();
            String name = context.getName();
            JsonNode value = base.isObject() ? base.get(name) : name.chars().allMatch(Character::isDigit) ? base.get(Integer.parseInt(name)) : null;
            if (value == null) return Results.notFound(context);
            return CompletableFuture.completedFuture(value.isContainerNode() ? value
                    : value.isNull() ? null : value.isNumber() ? value.numberValue() : value.isBoolean() ? value.booleanValue() : value.asText());
        }
    };

    // strict: a missing name is an error, not an empty string or "NOT_FOUND" in a customer's inbox
    private static final Engine ENGINE = Engine.builder().addDefaults().addValueResolver(JSON_FIELDS).strictRendering(true)
            .addResultMapper(new HtmlEscaper(List.of(Variant.TEXT_HTML))).build();

    private final String name;
    private final Template template;

    private EmailTemplate(String name, Template template) {
        this.name = name;
        this.template = template;
    }

    /** Parses the template; a syntax error names the parameter ({@code name}) and the line. */
    static EmailTemplate parse(String name, String text, boolean html) {
        try {
            return new EmailTemplate(name, ENGINE.parse(text, html ? Variant.forContentType(Variant.TEXT_HTML) : null, name));
        } catch (TemplateException e) {
            throw new IllegalArgumentException("email-sink " + name + " template is not valid Qute: " + e.getMessage(), e);
        }
    }

    /** The text for this event; a name the event lacks throws, naming the template and the expression. */
    String render(JsonNode event) {
        try {
            return template.data(event).render();
        } catch (TemplateException e) {
            Object expression = e.getArguments() == null ? null : e.getArguments().get("expression");
            if (expression != null && "PROPERTY_NOT_FOUND".equals(String.valueOf(e.getCode()))) {
                String line = e.getOrigin() == null ? "" : " (line " + e.getOrigin().getLine() + ")";
                throw new IllegalArgumentException("email-sink " + name + " template" + line + ": the event has no value for {" + expression
                        + "}; write {" + expression + " ?: 'default'} or {" + expression + "??} where it may be missing");
            }
            throw new IllegalArgumentException("email-sink " + name + " template: " + e.getMessage(), e);
        }
    }

    @Override
    public String toString() {
        return name;
    }
}
