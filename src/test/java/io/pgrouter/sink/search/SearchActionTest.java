package io.pgrouter.sink.search;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.node.ObjectNode;

import io.pgrouter.event.CanonicalEvent;

/** Events as search operations: index name, document id, shaped document, version; from plain JSON events. */
class SearchActionTest {

    private static SearchConfig endpoint(String... options) {
        SearchConfig e = new SearchConfig();
        e.setUrls("http://127.0.0.1:9200, http://127.0.0.1:9201");
        for (String option : options) {
            String[] kv = option.split("=", 2);
            switch (kv[0]) {
                case "index" -> e.setIndex(kv[1]);
                case "idColumns" -> e.setIdColumns(kv[1]);
                case "includeFields" -> e.setIncludeFields(kv[1]);
                case "excludeFields" -> e.setExcludeFields(kv[1]);
                case "renameFields" -> e.setRenameFields(kv[1]);
                default -> throw new IllegalArgumentException(option);
            }
        }
        e.validate(null);
        return e;
    }

    private static String event(String op, String before, String after) {
        return "{\"specversion\":\"1.0\",\"id\":\"shop:0/16B3748:public.products:42\",\"source\":\"/postgres/shop/public.products\","
                + "\"type\":\"postgres.row." + op + "\",\"subject\":\"42\",\"pgdatabase\":\"shop\",\"pgschema\":\"public\",\"pgtable\":\"Products\","
                + "\"pgop\":\"" + op + "\",\"pglsn\":\"1/16B3748\",\"data\":{\"before\":" + before + ",\"after\":" + after + ",\"changed\":[]}}";
    }

    @Test
    void anInsertIsIndexedUnderTheSubjectWithTheLsnAsVersion() throws Exception {
        SearchAction a = SearchAction.of(event("insert", "null", "{\"id\":42,\"title\":\"Dune\",\"price\":9.99}"), "r", endpoint("index=shop-${schema}.${table}"));
        assertThat(a.kind()).isEqualTo(SearchAction.Kind.INDEX);
        assertThat(a.index()).isEqualTo("shop-public.products");
        assertThat(a.id()).isEqualTo("42");
        assertThat(a.version()).isEqualTo(CanonicalEvent.parseLsn("1/16B3748")).isEqualTo((1L << 32) + 0x16B3748);
        assertThat(a.doc().toString()).isEqualTo("{\"id\":42,\"title\":\"Dune\",\"price\":9.99}");
    }

    @Test
    void anUpdateIsAMergeThatKeepsStoredFieldsTheEventLacks() throws Exception {
        SearchAction a = SearchAction.of(event("update", "null", "{\"id\":42,\"price\":8}"), "r", endpoint());
        assertThat(a.kind()).isEqualTo(SearchAction.Kind.MERGE);
        ObjectNode stored = (ObjectNode) CanonicalEvent.JSON.readTree("{\"id\":42,\"price\":9.99,\"body\":\"a long TOASTed text\"}");
        assertThat(a.mergedWith(stored).toString()).isEqualTo("{\"id\":42,\"price\":8,\"body\":\"a long TOASTed text\"}");
    }

    @Test
    void aDeleteTakesItsIdFromTheOldRowWhenIdColumnsAreSet() throws Exception {
        SearchAction a = SearchAction.of(event("delete", "{\"id\":42,\"sku\":\"A-1\"}", "null"), "r", endpoint("idColumns=sku,id"));
        assertThat(a.kind()).isEqualTo(SearchAction.Kind.DELETE);
        assertThat(a.id()).isEqualTo("A-1,42");
        assertThat(a.doc()).isNull();
    }

    @Test
    void aDeleteWhoseOldRowLacksAnIdColumnIsRefusedNotSentToADocumentOfPlaceholders() {
        // REPLICA IDENTITY DEFAULT: PostgreSQL sent only the key, so sku is absent from before
        String delete = event("delete", "{\"id\":42}", "null");
        assertThatThrownBy(() -> SearchAction.of(delete, "r", endpoint("idColumns=sku,id"))).hasMessageContaining("REPLICA IDENTITY FULL");
    }

    @Test
    void fieldsAreIncludedExcludedAndRenamed() throws Exception {
        String json = event("insert", "null", "{\"id\":42,\"title\":\"Dune\",\"secret\":\"x\",\"price\":9.99}");
        assertThat(SearchAction.of(json, "r", endpoint("excludeFields=secret", "renameFields=title:name")).doc().toString())
                .isEqualTo("{\"id\":42,\"name\":\"Dune\",\"price\":9.99}");
        assertThat(SearchAction.of(json, "r", endpoint("includeFields=id,title")).doc().toString()).isEqualTo("{\"id\":42,\"title\":\"Dune\"}");
    }

    @Test
    void eventsWithoutARowOrAKeyAreRefused() {
        String message = "{\"specversion\":\"1.0\",\"id\":\"x\",\"source\":\"/postgres/shop/message/p\",\"type\":\"postgres.message\",\"pgdatabase\":\"shop\","
                + "\"pgop\":\"message\",\"data\":\"hello\"}";
        assertThatThrownBy(() -> SearchAction.of(message, "r", endpoint())).hasMessageContaining("row events");
        String keyless = event("insert", "null", "{\"title\":\"Dune\"}").replace("\"subject\":\"42\",", "");
        assertThatThrownBy(() -> SearchAction.of(keyless, "r", endpoint())).hasMessageContaining("idColumns");
    }

    @Test
    void urlsWithCredentialsAreRefused() {
        SearchConfig e = new SearchConfig();
        e.setUrls("https://admin:secret@search:9200");
        assertThatThrownBy(() -> e.validate(null)).hasMessageContaining("must not carry credentials").hasMessageNotContaining("secret@");
    }
}
