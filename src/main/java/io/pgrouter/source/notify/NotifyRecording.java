package io.pgrouter.source.notify;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import org.postgresql.PGConnection;
import org.postgresql.PGNotification;

import io.pgrouter.event.CanonicalEvent;
import io.pgrouter.event.EventMapper;
import io.pgrouter.postgres.Postgres;

/**
 * {@code bin/pgrouter events record --channels}: LISTEN on channels for a while, on a plain JDBC connection of its own
 * (a recording is short and needs no reconnect), each notification mapped as the NOTIFY source maps it, a claim check
 * completed with the row as the router would.
 */
public final class NotifyRecording implements AutoCloseable {

    private final Connection connection;
    private final EventMapper mapper;
    private final ClaimCheck claimCheck;

    public NotifyRecording(Postgres postgres, Set<String> channels) throws SQLException {
        this.mapper = new EventMapper(postgres.database());
        this.claimCheck = new ClaimCheck(postgres);
        this.connection = postgres.open();
        try (Statement s = connection.createStatement()) {
            for (String channel : channels) s.execute("LISTEN " + Postgres.quoteIdent(channel));
        }
    }

    /** The events of the notifications that arrive within {@code waitMs}, in arrival order. */
    public List<CanonicalEvent> poll(int waitMs) throws Exception {
        PGNotification[] arrived = connection.unwrap(PGConnection.class).getNotifications(waitMs);
        List<CanonicalEvent> events = new ArrayList<>();
        if (arrived == null) return events;
        for (PGNotification n : arrived) {
            String payload = n.getParameter();
            events.add(EventMapper.isClaimCheck(EventMapper.parseOrText(payload)) ? claimCheck.complete(mapper, n.getName(), payload)
                    : mapper.fromNotify(n.getName(), payload));
        }
        return events;
    }

    @Override
    public void close() throws SQLException {
        claimCheck.close();
        connection.close();
    }
}
