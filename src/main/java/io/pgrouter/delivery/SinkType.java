package io.pgrouter.delivery;

import java.util.function.Supplier;

/**
 * A kind of sink, as {@link SinkComponent} makes it: its name for operators, its configuration with the defaults, and
 * how to make the sink from a checked configuration.
 *
 * @param name what an operator sees when a source waits on this sink (e.g. {@code webhook})
 */
public record SinkType<C extends SinkConfig>(String name, Supplier<C> config, Factory<C> factory) {

    /** Makes a sink for a configuration that {@link SinkConfig#validate} accepted. */
    @FunctionalInterface
    public interface Factory<C extends SinkConfig> {
        Sink create(C config, SinkContext context) throws Exception;
    }
}
