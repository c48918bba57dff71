package io.pgrouter.delivery;

import org.apache.camel.CamelContext;

/**
 * What {@link SinkComponent} hands a new {@link Sink}: the delivery contract for its configuration and destination, and
 * the Camel context it runs in.
 *
 * @param delivery the path of an event or a batch: admission, in-line retries, retry store, dead letters (null for a
 *        sink that is not {@link SinkConfig#retrying()})
 * @param camel the Camel context (a sink that sends through another endpoint, resolves a resource or looks up a bean)
 */
public record SinkContext(DurableDelivery delivery, CamelContext camel) {

    /** The one bean of this type (a store or state shared by every sink of a kind). */
    public <T> T bean(Class<T> type) {
        T bean = camel.getRegistry().findSingleByType(type);
        if (bean == null) throw new IllegalStateException("no bean of type " + type.getName());
        return bean;
    }
}
