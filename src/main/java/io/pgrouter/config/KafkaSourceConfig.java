package io.pgrouter.config;

import java.util.Optional;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/**
 * The Kafka source of the second tier ({@code pg:kafka?topics=...}): routes that read the events a first-tier router
 * wrote to Kafka with the kafka sink. The consumer's own settings (TLS, SASL, timeouts) pass through under
 * {@value #CONSUMER_PREFIX}: {@code pgrouter.kafka.consumer.security.protocol=SASL_SSL} is Kafka's
 * {@code security.protocol}.
 */
@ConfigMapping(prefix = "pgrouter.kafka")
public interface KafkaSourceConfig {

    String CONSUMER_PREFIX = "pgrouter.kafka.consumer";

    /** The cluster's bootstrap servers ({@code host:port,...}); needed as soon as a route reads {@code pg:kafka}. */
    Optional<String> bootstrapServers();

    /** The consumer group of routes that name none: every router in one group shares the topics' partitions. */
    @WithDefault("pgrouter")
    String group();

    /**
     * The Kafka consumer's own settings by Kafka's names ({@code pgrouter.kafka.consumer.security.protocol=SSL}), passed
     * through as they are: TLS, SASL, timeouts.
     */
    java.util.Map<String, String> consumer();

    /** The longest one poll waits for records. */
    @WithDefault("200")
    long pollTimeoutMs();

    /** After a batch that could neither be delivered nor stored, the wait before it is read again; it doubles up to this. */
    @WithDefault("30000")
    long maxBackoffMs();
}
