package io.pgrouter.sink.rabbitmq;

import java.net.URI;
import java.util.Set;

import org.apache.camel.CamelContext;

import com.rabbitmq.client.ConnectionFactory;

import io.pgrouter.delivery.SinkConfig;
import io.pgrouter.event.EventTemplate;

/**
 * The RabbitMQ sink's options ({@code kamelets/rabbitmq-sink.kamelet.yaml}): the broker {@code url}
 * ({@code amqp://host:5672/vhost}) and login, the {@code exchange} and {@code routingKey} templates, the
 * {@code exchangeType} to declare (empty: it must exist), {@code mandatory} (a message no queue takes is refused),
 * {@code confirmTimeoutMs}, {@code connectTimeoutMs}, and {@code clientSettings}: the configuration prefix whose keys
 * are the client's own connection settings (TLS, ...).
 */
public class RabbitMqConfig extends SinkConfig {

    /** The sink's name in dead letters, retry keys and metrics. */
    static final String SINK = "rabbitmq-sink";

    private static final Set<String> EXCHANGE_TYPES = Set.of("", "direct", "topic", "fanout", "headers", "x-consistent-hash");

    private String url;
    private String username;
    private String password;
    private String exchange;
    private String routingKey = "${schema}.${table}.${op}";
    private String exchangeType = "";
    private boolean mandatory = true;
    private long confirmTimeoutMs = 30_000;
    private long connectTimeoutMs = 5_000;
    private String clientSettings = ConnectionSettings.DEFAULT_PREFIX;

    private EventTemplate exchangeTemplate;
    private EventTemplate routingKeyTemplate;
    private ConnectionFactory factory;
    private String broker;

    @Override
    public String sink() {
        return SINK;
    }

    @Override
    protected void validate(CamelContext camel) throws Exception {
        if (blank(url)) throw new IllegalArgumentException("rabbitmq-sink needs url (amqp://host:5672/vhost)");
        if (exchange == null) throw new IllegalArgumentException("rabbitmq-sink needs exchange (an empty string is the default exchange)");
        if (!EXCHANGE_TYPES.contains(exchangeType)) {
            throw new IllegalArgumentException("rabbitmq-sink exchangeType must be empty (do not declare) or one of direct, topic, fanout, headers, "
                    + "x-consistent-hash; got " + exchangeType);
        }
        exchangeTemplate = template("exchange", exchange);
        routingKeyTemplate = template("routingKey", routingKey);
        factory = new ConnectionFactory();
        factory.setUri(url);
        if (!blank(username)) factory.setUsername(username);
        if (password != null && !password.isEmpty()) factory.setPassword(password);
        // the client waits 10 minutes for a channel call's answer by default: a broker that blocks the connection (an
        // alarm) does not answer at all, so opening a channel or checking the exchange would hold every route that long
        factory.setChannelRpcTimeout((int) connectTimeoutMs);
        ConnectionSettings.apply(factory, clientSettings);
        // the sink reconnects itself on the next attempt: a failure must surface to the delivery contract, not be hidden
        factory.setAutomaticRecoveryEnabled(false);
        factory.setTopologyRecoveryEnabled(false);
        factory.setConnectionTimeout((int) connectTimeoutMs);
        factory.setHandshakeTimeout((int) connectTimeoutMs);
        factory.setRequestedHeartbeat(10);
        URI parsed = URI.create(url);
        // shown in logs and dead letters: never the user info, which may hold a password
        broker = "rabbitmq " + parsed.getScheme() + "://" + parsed.getHost() + (parsed.getPort() > 0 ? ":" + parsed.getPort() : "")
                + (parsed.getRawPath() == null ? "" : parsed.getRawPath());
    }

    private static EventTemplate template(String parameter, String text) {
        try {
            return EventTemplate.parse(text);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("rabbitmq-sink " + parameter + ": " + e.getMessage() + " in the route's rabbitmq-sink parameters", e);
        }
    }

    /** The broker without credentials; other client settings (other TLS, another virtual host) are another destination. */
    @Override
    public String where() {
        return broker + (ConnectionSettings.DEFAULT_PREFIX.equals(clientSettings) ? "" : " settings " + clientSettings);
    }

    /**
     * The destination: broker without credentials, client settings prefix unless the default one, exchange, routing
     * key. A new password or trust store keeps waiting events (setting values are not in it); another prefix is
     * another client, whose events wait apart.
     */
    @Override
    protected String identity() {
        return where() + "\n" + exchange + "\n" + routingKey;
    }

    /** Before client settings prefixes were part of it, the key had the broker, exchange and routing key alone. */
    @Override
    protected String formerIdentity() {
        return ConnectionSettings.DEFAULT_PREFIX.equals(clientSettings) ? null : broker + "\n" + exchange + "\n" + routingKey;
    }

    /** The client's connection factory, set from these options and the client settings. */
    ConnectionFactory factory() { return factory; }
    EventTemplate exchangeTemplate() { return exchangeTemplate; }
    EventTemplate routingKeyTemplate() { return routingKeyTemplate; }

    public String getUrl() { return url; }
    public void setUrl(String url) { this.url = url; }
    public String getUsername() { return username; }
    public void setUsername(String username) { this.username = username; }
    public String getPassword() { return password; }
    public void setPassword(String password) { this.password = password; }
    public String getExchange() { return exchange; }
    public void setExchange(String exchange) { this.exchange = exchange; }
    public String getRoutingKey() { return routingKey; }
    public void setRoutingKey(String routingKey) { this.routingKey = routingKey; }
    public String getExchangeType() { return exchangeType; }
    public void setExchangeType(String exchangeType) { this.exchangeType = exchangeType == null ? "" : exchangeType; }
    public boolean isMandatory() { return mandatory; }
    public void setMandatory(boolean mandatory) { this.mandatory = mandatory; }
    public long getConfirmTimeoutMs() { return confirmTimeoutMs; }
    public void setConfirmTimeoutMs(long confirmTimeoutMs) { this.confirmTimeoutMs = confirmTimeoutMs; }
    public String getClientSettings() { return clientSettings; }
    public void setClientSettings(String clientSettings) { this.clientSettings = clientSettings; }
    public long getConnectTimeoutMs() { return connectTimeoutMs; }
    public void setConnectTimeoutMs(long connectTimeoutMs) { this.connectTimeoutMs = connectTimeoutMs; }
}
