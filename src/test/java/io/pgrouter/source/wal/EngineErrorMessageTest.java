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

    @Test
    void aServerStillStartingIsALostConnectionEvenWhenOnlyTheMessageSaysSo() {
        // how Debezium 3.4 reports it when PostgreSQL is back on its port but not accepting logins yet
        Exception starting = new io.debezium.DebeziumException(
                "Connector configuration is not valid. Error while validating connector config: FATAL: the database system is starting up");
        assertThat(io.pgrouter.postgres.PostgresErrors.connectionLost(starting)).isTrue();
        assertThat(io.pgrouter.postgres.PostgresErrors.connectionLost(new io.debezium.DebeziumException(
                "Connector configuration is not valid. The 'slot.name' value is invalid"))).isFalse();
    }
}
