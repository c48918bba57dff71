package io.pgrouter.source.notify;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;

import com.fasterxml.jackson.databind.node.ObjectNode;

import io.pgrouter.event.CanonicalEvent;
import io.pgrouter.event.EventMapper;
import io.pgrouter.postgres.Postgres;
import io.pgrouter.postgres.ReconnectingConnection;

/**
 * Completes a notification whose row was over NOTIFY's 8000-byte limit: the trigger sent the key only, so
 * the current row is read by key (the index on the key serves the lookup) before the event is routed.
 */
final class ClaimCheck {

    private final ReconnectingConnection connection;

    ClaimCheck(Postgres postgres) {
        this.connection = new ReconnectingConnection(postgres);
    }

    CanonicalEvent complete(EventMapper mapper, String channel, String payload) throws Exception {
        ObjectNode p = (ObjectNode) CanonicalEvent.JSON.readTree(payload);
        ObjectNode key = (ObjectNode) p.get("key");
        String table = Postgres.quoteIdent(p.get("schema").asText()) + "." + Postgres.quoteIdent(p.get("table").asText());
        StringBuilder where = new StringBuilder();
        for (String column : EventMapper.keyColumns(key)) {
            if (where.length() > 0) where.append(" AND ");
            String col = Postgres.quoteIdent(column);
            where.append("t.").append(col).append(" = (jsonb_populate_record(NULL::").append(table).append(", ?::jsonb)).").append(col);
        }
        String sql = "SELECT to_jsonb(t) FROM " + table + " t WHERE " + where;
        String row = fetch(sql, key);
        if (row != null && !"delete".equals(p.path("op").asText())) {
            p.set("after", CanonicalEvent.JSON.readTree(row));
        } else if ("delete".equals(p.path("op").asText())) {
            p.set("before", key.deepCopy());
        }
        // a row deleted since the trigger fired: the event goes on with the key only (after stays absent)
        p.remove("claim");
        return mapper.fromNotify(channel, CanonicalEvent.JSON.writeValueAsString(p));
    }

    private String fetch(String sql, ObjectNode key) throws SQLException {
        return connection.call(c -> {
            try (PreparedStatement ps = c.prepareStatement(sql)) {
                int n = EventMapper.keyColumns(key).size();
                for (int i = 1; i <= n; i++) ps.setString(i, key.toString());
                try (ResultSet rs = ps.executeQuery()) {
                    return rs.next() ? rs.getString(1) : null;
                }
            }
        });
    }

    void close() {
        connection.close();
    }
}
