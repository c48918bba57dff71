package io.pgrouter.sink.rabbitmq;

import java.net.URI;
import java.util.Set;

import org.apache.camel.Consumer;
import org.apache.camel.Processor;
import org.apache.camel.Producer;

import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;

import io.pgrouter.event.EventTemplate;
import io.pgrouter.delivery.Redeliverable;
import io.pgrouter.delivery.RetryingSinkEndpoint;
import io.pgrouter.delivery.SinkDeliveryException;

/** One RabbitMQ destination (broker, exchange and routing-key templates) and its connection. */
public class RabbitMqEndpoint extends RetryingSinkEndpoint {

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
    private Connection connection;
    private String where;
    private RabbitMqProducer producer;

    RabbitMqEndpoint(String uri, RabbitMqComponent component) {
        super(uri, component);
    }

    void validate() throws Exception {
        if (url == null || url.isBlank()) throw new IllegalArgumentException("rabbitmq-sink needs url (amqp://host:5672/vhost)");
        if (exchange == null) throw new IllegalArgumentException("rabbitmq-sink needs exchange (an empty string is the default exchange)");
        if (!EXCHANGE_TYPES.contains(exchangeType)) {
            throw new IllegalArgumentException("rabbitmq-sink exchangeType must be empty (do not declare) or one of direct, topic, fanout, headers, "
                    + "x-consistent-hash; got " + exchangeType);
        }
        exchangeTemplate = template("exchange", exchange);
        routingKeyTemplate = template("routingKey", routingKey);
        factory = new ConnectionFactory();
        factory.setUri(url);
        if (username != null && !username.isBlank()) factory.setUsername(username);
        if (password != null && !password.isEmpty()) factory.setPassword(password);
        ConnectionSettings.apply(factory, clientSettings);
        // we reconnect ourselves on the next attempt: a failure must surface to the delivery contract, not be hidden
        factory.setAutomaticRecoveryEnabled(false);
        factory.setTopologyRecoveryEnabled(false);
        factory.setConnectionTimeout((int) connectTimeoutMs);
        factory.setHandshakeTimeout((int) connectTimeoutMs);
        factory.setRequestedHeartbeat(10);
        URI parsed = URI.create(url);
        // shown in logs and dead letters: never the user info, which may hold a password
        where = "rabbitmq " + parsed.getScheme() + "://" + parsed.getHost() + (parsed.getPort() > 0 ? ":" + parsed.getPort() : "")
                + (parsed.getRawPath() == null ? "" : parsed.getRawPath());
    }

    private static EventTemplate template(String parameter, String text) {
        try {
            return EventTemplate.parse(text);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("rabbitmq-sink " + parameter + ": " + e.getMessage() + " in the route's rabbitmq-sink parameters", e);
        }
    }

    /** The open connection, or a new one; throws a retryable failure when the broker cannot be reached. */
    synchronized Connection connection() throws SinkDeliveryException {
        if (connection != null && connection.isOpen()) return connection;
        try {
            // bin/pgrouter routes test: a connection whose channels hand each message to the capture and confirm it
            connection = io.pgrouter.delivery.DryRun.on() ? CapturedPublishes.connection() : factory.newConnection("pg-event-router");
            return connection;
        } catch (Exception e) {
            throw new SinkDeliveryException(RabbitMqProducer.SINK, where + ": cannot connect: " + e, null, String.valueOf(e.getMessage()), 1, true,
                    null, null);
        }
    }

    synchronized void closeConnection() {
        if (connection == null) return;
        try {
            if (connection.isOpen()) connection.close(2000);
        } catch (Exception e) {
            // already closed by the broker or the network
        }
        connection = null;
    }

    @Override
    public synchronized Producer createProducer() {
        if (producer == null) producer = new RabbitMqProducer(this);
        return producer;
    }

    /** The end of a source batch: waits for the broker to confirm what this endpoint published during it. */
    @Override
    protected void flushSource() throws Exception {
        RabbitMqProducer p;
        synchronized (this) {
            p = producer;
        }
        if (p != null) p.flush();
    }

    @Override
    public Consumer createConsumer(Processor processor) {
        throw new UnsupportedOperationException("pgrabbitmq: is a sink");
    }

    @Override
    public RabbitMqComponent getComponent() {
        return (RabbitMqComponent) super.getComponent();
    }

    @Override
    protected void doStop() throws Exception {
        closeConnection();
        super.doStop();
    }

    /** A hash of the destination (broker without credentials, exchange, routing key): a new password keeps waiting events. */
    @Override
    public String sinkKey() {
        return Redeliverable.sinkKey(RabbitMqProducer.SINK, where + "\n" + exchange + "\n" + routingKey);
    }

    @Override
    public void redeliver(String eventJson) throws SinkDeliveryException, InterruptedException {
        ((RabbitMqProducer) createProducer()).redeliver(eventJson);
    }

    String where() { return where; }
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
