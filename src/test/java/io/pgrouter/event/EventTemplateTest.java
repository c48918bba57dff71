package io.pgrouter.event;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class EventTemplateTest {

    private static final String ROW = "{\"id\":\"x\",\"type\":\"postgres.row.update\",\"subject\":\"42\",\"pgdatabase\":\"shop\",\"pgschema\":\"marketplace\","
            + "\"pgtable\":\"products\",\"pgop\":\"update\"}";
    private static final String MESSAGE = "{\"id\":\"y\",\"type\":\"postgres.message\",\"pgdatabase\":\"shop\",\"pgop\":\"message\",\"pgchannel\":\"orders\"}";

    @Test
    void fillsTheEventsFacts() throws Exception {
        EventTemplate t = EventTemplate.parse("${schema}.${table}.${op}");
        assertThat(t.apply(CanonicalEvent.JSON.readTree(ROW))).isEqualTo("marketplace.products.update");
        assertThat(EventTemplate.parse("pg.${database}.${subject}|${type}").apply(CanonicalEvent.JSON.readTree(ROW)))
                .isEqualTo("pg.shop.42|postgres.row.update");
        assertThat(EventTemplate.parse("fixed").constant()).isTrue();
    }

    @Test
    void aFactTheEventLacksIsEmpty() throws Exception {
        assertThat(EventTemplate.parse("${schema}.${table}.${channel}").apply(CanonicalEvent.JSON.readTree(MESSAGE))).isEqualTo("..orders");
    }

    @Test
    void anUnknownVariableFailsWhenParsed() {
        assertThatThrownBy(() -> EventTemplate.parse("${schema}.${tabel}")).hasMessageContaining("unknown variable ${tabel}")
                .hasMessageContaining("known: channel, database, op, schema, subject, table, type");
    }
}
