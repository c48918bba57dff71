package io.pgrouter.sink.jms;

import io.pgrouter.sink.queue.QueueConfig;

/**
 * The JMS sink's options ({@code kamelets/jms-sink.kamelet.yaml}): the Artemis {@code brokerUrl} (its query holds
 * the client's URL options: TLS, ...), the {@code destination} and its {@code destinationType} (queue or topic), the
 * login, {@code persistent} and the broker call {@code timeoutMs}; a batch is one transaction, up to 10,000 events.
 */
public class JmsConfig extends QueueConfig {

    /** The sink's name in dead letters, retry keys and metrics. */
    static final String SINK = "jms-sink";

    private String brokerUrl;
    private String destination;
    private String destinationType = "queue";
    private String username;
    private String password;
    private boolean persistent = true;
    private long timeoutMs = 10_000;

    @Override
    public String sink() {
        return SINK;
    }

    @Override
    protected void validateBroker() {
        if (blank(brokerUrl)) throw new IllegalArgumentException("jms-sink needs brokerUrl");
        if (blank(destination)) throw new IllegalArgumentException("jms-sink needs destination");
        if (!destinationType.equals("queue") && !destinationType.equals("topic")) {
            throw new IllegalArgumentException("jms-sink destinationType must be queue or topic, got " + destinationType);
        }
        positive("timeoutMs", timeoutMs, 1);
    }

    @Override
    public String where() {
        return "jms " + withoutQuery(brokerUrl) + " " + destinationType + ":" + destination;
    }

    @Override
    protected String identity() {
        return withoutQuery(brokerUrl) + "|" + destinationType + "|" + destination;
    }

    /** A broker URL's options may carry a user and password: logs and keys show the part before them. */
    static String withoutQuery(String url) {
        int q = url.indexOf('?');
        return q < 0 ? url : url.substring(0, q);
    }

    public String getBrokerUrl() { return brokerUrl; }
    public void setBrokerUrl(String brokerUrl) { this.brokerUrl = brokerUrl; }
    public String getDestination() { return destination; }
    public void setDestination(String destination) { this.destination = destination; }
    public String getDestinationType() { return destinationType; }
    public void setDestinationType(String destinationType) { this.destinationType = destinationType; }
    public String getUsername() { return username; }
    public void setUsername(String username) { this.username = username; }
    public String getPassword() { return password; }
    public void setPassword(String password) { this.password = password; }
    public boolean isPersistent() { return persistent; }
    public void setPersistent(boolean persistent) { this.persistent = persistent; }
    public long getTimeoutMs() { return timeoutMs; }
    public void setTimeoutMs(long timeoutMs) { this.timeoutMs = timeoutMs; }
}
