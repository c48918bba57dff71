package io.pgrouter.source.wal;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Engine errors reach health and logs: Debezium puts its whole configuration in some of them. */
class EngineErrorMessageTest {

    @Test
    void passwordsInDebeziumMessagesAreMasked() {
        Exception e = new IllegalStateException("Failed to connect JDBC offset backing store: {slot.name=pgrouter, database.password=s3cr3t, "
                + "offset.storage.jdbc.connection.password=hunter2}", new RuntimeException("FATAL: password authentication failed"));
        String message = WalSource.rootMessage(e);
        assertThat(message).doesNotContain("s3cr3t").doesNotContain("hunter2")
                .contains("database.password=****").contains("slot.name=pgrouter").contains("FATAL: password authentication failed");
    }
}
