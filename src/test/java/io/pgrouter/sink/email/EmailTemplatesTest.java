package io.pgrouter.sink.email;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;

import io.pgrouter.event.CanonicalEvent;

/** The email sink's templates and recipients query over plain event JSON: the one rule for a missing name, escaping, parameters. */
class EmailTemplatesTest {

    private static JsonNode event(String data) throws Exception {
        return CanonicalEvent.JSON.readTree("{\"id\":\"e1\",\"subject\":\"7\",\"pgtable\":\"users\",\"data\":" + data + "}");
    }

    @Test
    void aNameTheEventLacksIsAnErrorNamingTemplateAndExpressionUnlessTheTemplateGivesADefault() throws Exception {
        JsonNode e = event("{\"after\":{\"name\":\"Ann\",\"note\":null,\"tags\":[\"x\",\"y\"]},\"before\":null}");
        assertThat(EmailTemplate.parse("subject", "{pgtable} {subject}: {data.after.name}{data.after.note} {data.after.tags.1}", false).render(e))
                .isEqualTo("users 7: Ann y");
        assertThat(EmailTemplate.parse("subject", "Hi {data.after.nick ?: data.after.name}{data.after.title??}", false).render(e)).isEqualTo("Hi Ann");
        assertThatThrownBy(() -> EmailTemplate.parse("body", "Dear\n{data.after.nick}", false).render(e)).hasMessage(
                "email-sink body template (line 2): the event has no value for {data.after.nick}; write {data.after.nick ?: 'default'} or {data.after.nick??} "
                        + "where it may be missing");
        assertThatThrownBy(() -> EmailTemplate.parse("to", "{data.after.email", false)).hasMessageStartingWith("email-sink to template is not valid Qute:");
    }

    @Test
    void htmlTemplatesEscapeTheEventsValues() throws Exception {
        JsonNode e = event("{\"after\":{\"name\":\"<b>Bob</b> & co\"}}");
        assertThat(EmailTemplate.parse("htmlBody", "<p>{data.after.name}</p>", true).render(e)).isEqualTo("<p>&lt;b&gt;Bob&lt;/b&gt; &amp; co</p>");
        assertThat(EmailTemplate.parse("body", "{data.after.name}", false).render(e)).isEqualTo("<b>Bob</b> & co");
    }

    @Test
    void queryParametersComeFromTheRowOrThePayloadAndCastsAndQuotesAreLeftAlone() throws Exception {
        RecipientsQuery q = RecipientsQuery.parse("SELECT email FROM s WHERE category = :category AND note <> ':no' AND id = :id::int");
        assertThat(q.jdbc()).isEqualTo("SELECT email FROM s WHERE category = ? AND note <> ':no' AND id = ?::int");
        assertThat(q.values(event("{\"after\":{\"category\":\"books\",\"id\":3}}"))).containsExactly("books", "3");
        // a delete has only the old row
        assertThat(q.values(event("{\"after\":null,\"before\":{\"category\":\"games\",\"id\":4}}"))).containsExactly("games", "4");
        // a notification's payload
        assertThat(q.values(event("{\"category\":\"music\",\"id\":null}"))).isEqualTo(Arrays.asList("music", null));
        assertThatThrownBy(() -> q.values(event("{\"after\":{\"id\":3}}")))
                .hasMessageStartingWith("email-sink recipientsQuery: the event has no value for :category");
        assertThat(RecipientsQuery.parse(" ")).isNull();
    }
}
