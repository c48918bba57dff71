package io.pgrouter.sink.rabbitmq;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

import io.pgrouter.delivery.Redeliverable;

/**
 * The RabbitMQ sink's key in the retry store: the same as it always was for the default client settings (events
 * waiting in users' retry stores find their sink), its own for another settings prefix (another client: TLS, virtual
 * host), which still re-sends what waits under the key it had before.
 */
class RabbitMqKeyTest {

    private static final String URL = "amqp://router:secret@broker:5672/shop";

    private static RabbitMqConfig config(String clientSettings) throws Exception {
        RabbitMqConfig c = new RabbitMqConfig();
        c.setUrl(URL);
        c.setExchange("orders");
        c.setClientSettings(clientSettings);
        c.validate(null);
        return c;
    }

    @Test
    void theDefaultSettingsKeepTheKeyEventsWereStoredUnder() throws Exception {
        RabbitMqConfig c = config(ConnectionSettings.DEFAULT_PREFIX);
        assertThat(c.sinkKey()).isEqualTo(Redeliverable.sinkKey("rabbitmq-sink", "rabbitmq amqp://broker:5672/shop\norders\n${schema}.${table}.${op}"));
        assertThat(c.formerSinkKey()).isNull();
        assertThat(c.where()).isEqualTo("rabbitmq amqp://broker:5672/shop");
    }

    @Test
    void anotherSettingsPrefixIsAnotherKeyThatStillFindsTheFormerOne() throws Exception {
        RabbitMqConfig plain = config(ConnectionSettings.DEFAULT_PREFIX);
        RabbitMqConfig tls = config("pgrouter.test.rabbit-tls");
        RabbitMqConfig other = config("pgrouter.test.rabbit-other");

        assertThat(tls.sinkKey()).isNotEqualTo(plain.sinkKey()).isNotEqualTo(other.sinkKey()).startsWith("rabbitmq-sink:");
        assertThat(tls.formerSinkKey()).isEqualTo(plain.sinkKey());
        assertThat(tls.where()).isEqualTo("rabbitmq amqp://broker:5672/shop settings pgrouter.test.rabbit-tls").doesNotContain("secret");
    }
}
