package io.pgrouter.event;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;

class EventTemplateTest {

    private static final String ROW = "{\"id\":\"x\",\"type\":\"postgres.row.update\",\"subject\":\"42\",\"pgdatabase\":\"shop\",\"pgschema\":\"marketplace\","
            + "\"pgtable\":\"products\",\"pgop\":\"update\",\"data\":{\"before\":{\"status\":\"new\"},\"after\":{\"region\":\"eu\",\"note\":null}}}";
    private static final String MESSAGE = "{\"id\":\"y\",\"type\":\"postgres.message\",\"pgdatabase\":\"shop\",\"pgop\":\"message\",\"pgchannel\":\"orders\",\"data\":{\"kind\":\"export\"}}";

    @Test
    void fillsTheEventsFacts() throws Exception {
        EventTemplate t = EventTemplate.parse("${schema}.${table}.${op}");
        assertThat(t.apply(CanonicalEvent.JSON.readTree(ROW))).isEqualTo("marketplace.products.update");
        assertThat(EventTemplate.parse("pg.${database}.${subject}|${type}").apply(CanonicalEvent.JSON.readTree(ROW)))
                .isEqualTo("pg.shop.42|postgres.row.update");
        assertThat(EventTemplate.parse("fixed").constant()).isTrue();
    }

    @Test
    void readsColumnsOfTheRowAndMembersOfAPayload() throws Exception {
        JsonNode row = CanonicalEvent.JSON.readTree(ROW);
        assertThat(EventTemplate.parse("orders.${after.region}.${before.status}").apply(row)).isEqualTo("orders.eu.new");
        assertThat(EventTemplate.parse("${$.after.region}|${$.data.after.region}|${$.subject}").apply(row)).isEqualTo("eu|eu|42");
        assertThat(EventTemplate.parse("jobs.${data.kind}").apply(CanonicalEvent.JSON.readTree(MESSAGE))).isEqualTo("jobs.export");
        assertThat(EventTemplate.parse("${after.region}").readsData()).isTrue();
        assertThat(EventTemplate.parse("${table}").readsData()).isFalse();
    }

    @Test
    void aValueTheEventLacksFailsTheEventNamingTheTemplateAndThePlaceholderUnlessItHasADefault() throws Exception {
        JsonNode message = CanonicalEvent.JSON.readTree(MESSAGE);
        assertThatThrownBy(() -> EventTemplate.parse("${schema}.${table}").apply(message)).isInstanceOf(EventTemplate.MissingValue.class)
                .hasMessageContaining("template '${schema}.${table}' has no value for ${schema} in event y")
                .hasMessageContaining("${schema:-…}");
        // null, and an object rather than a single value, are missing too
        assertThatThrownBy(() -> EventTemplate.parse("${after.note}").apply(CanonicalEvent.JSON.readTree(ROW))).isInstanceOf(EventTemplate.MissingValue.class);
        assertThatThrownBy(() -> EventTemplate.parse("${after}.x").apply(CanonicalEvent.JSON.readTree(ROW))).hasMessageContaining("unknown placeholder");
        assertThatThrownBy(() -> EventTemplate.parse("${data.after}").apply(CanonicalEvent.JSON.readTree(ROW))).isInstanceOf(EventTemplate.MissingValue.class);
        assertThat(EventTemplate.parse("${table:-none}.${channel}").apply(message)).isEqualTo("none.orders");
        assertThat(EventTemplate.parse("${after.tenant:-}x").apply(CanonicalEvent.JSON.readTree(ROW))).isEqualTo("x");
    }

    @Test
    void anUnknownPlaceholderFailsWhenParsedSayingWhatIsKnown() {
        assertThatThrownBy(() -> EventTemplate.parse("${schema}.${tabel}")).hasMessageContaining("unknown placeholder ${tabel} in '${schema}.${tabel}'")
                .hasMessageContaining("Known: ${database}, ${schema}, ${table}, ${op}, ${subject}, ${channel}, ${type}, ${id}, ${after.<column>}");
        assertThatThrownBy(() -> EventTemplate.parse("${row.price}")).hasMessageContaining("unknown placeholder ${row.price}");
        assertThatThrownBy(() -> EventTemplate.parse("${after.}")).hasMessageContaining("unknown placeholder ${after.}");
    }
}
