package io.pgrouter.lint;

import java.lang.reflect.Method;
import java.util.Map;
import java.util.TreeMap;

import jakarta.inject.Named;

import io.pgrouter.delivery.SinkComponent;
import io.pgrouter.delivery.SinkConfig;
import io.pgrouter.sink.Sinks;

/** The router's own sinks as {@link Sinks} lists them: each component's name → a fresh configuration of its sink. */
final class OurSinks {

    private OurSinks() {
    }

    static Map<String, SinkConfig> configs() throws Exception {
        Map<String, SinkConfig> configs = new TreeMap<>();
        for (Method m : Sinks.class.getDeclaredMethods()) {
            Named name = m.getAnnotation(Named.class);
            if (name == null) continue;
            m.setAccessible(true);
            // a component made without the stores: only its sink type is read
            SinkComponent<?> component = (SinkComponent<?>) m.invoke(new Sinks(), (Object) null);
            configs.put(name.value(), component.type().config().get());
        }
        return configs;
    }
}
