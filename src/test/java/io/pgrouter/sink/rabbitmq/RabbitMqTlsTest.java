package io.pgrouter.sink.rabbitmq;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;

import org.junit.jupiter.api.Test;

import io.pgrouter.testing.RabbitConsumer;
import io.pgrouter.testing.RabbitMqTlsProfile;
import io.pgrouter.testing.Sql;
import io.pgrouter.testing.TestServers;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;

/**
 * The RabbitMQ sink over TLS by configuration alone: the client settings under each route's clientSettings prefix
 * reach the RabbitMQ client's ConnectionFactoryConfigurator. An amqps:// URL alone would trust any certificate; the
 * route whose trust store lacks the broker's certificate shows the settings are the ones in force.
 */
@QuarkusTest
@TestProfile(RabbitMqTlsProfile.class)
@QuarkusTestResource(value = TestServers.class, restrictToAnnotatedClass = false)
class RabbitMqTlsTest {

    private static final String PLAIN_URL_KEY = "pgrouter.test.rabbit-plain-url";

    @Test
    void aBrokerTheTrustStoreTrustsGetsTheEvent() throws Exception {
        String plain = org.eclipse.microprofile.config.ConfigProvider.getConfig().getValue(PLAIN_URL_KEY, String.class);
        try (RabbitConsumer consumer = RabbitConsumer.on(plain, "pgrouter.tls", "fanout", "tls-events", false, "", null).consume("tls-events")) {
            Sql.exec("INSERT INTO test.rabbit_tls (id, note) VALUES (1, 'over tls')");
            await().atMost(Duration.ofSeconds(60)).until(() -> consumer.received.size() == 1);
            assertThat(consumer.received.get(0).body()).contains("\"note\":\"over tls\"");
        }
    }

    @Test
    void aBrokerTheTrustStoreDoesNotTrustIsRefusedAndTheEventWaits() {
        Sql.exec("INSERT INTO test.rabbit_untrusted (id, note) VALUES (2, 'not trusted')");
        await().atMost(Duration.ofSeconds(60)).until(() -> Sql.count(
                "SELECT count(*) FROM pgrouter.retries WHERE route_id = 'wal-rabbit-untrusted-to-rabbitmq' AND subject = '2'") == 1);
        assertThat(Sql.text("SELECT last_error FROM pgrouter.retries WHERE route_id = 'wal-rabbit-untrusted-to-rabbitmq' AND subject = '2'"))
                .containsIgnoringCase("certificat");
    }
}
