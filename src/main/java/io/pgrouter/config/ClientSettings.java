package io.pgrouter.config;

import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import org.eclipse.microprofile.config.Config;
import org.eclipse.microprofile.config.ConfigProvider;

/**
 * A client library's own settings, passed through as they are: every setting under a prefix (say
 * {@code pgrouter.sinks.kafka.producer.security.protocol=SASL_SSL}) becomes the client's setting without the prefix
 * ({@code security.protocol}). TLS, SASL and tuning then need no option of ours: the client's documentation is the
 * reference. Read from application.properties, {@code -D} options and the other config sources of the application.
 */
public final class ClientSettings {

    private final String prefix;
    private final Map<String, String> values;

    private ClientSettings(String prefix, Map<String, String> values) {
        this.prefix = prefix;
        this.values = values;
    }

    /** The settings under {@code prefix} (without its trailing dot), sorted by name; none when the prefix is blank. */
    public static ClientSettings under(String prefix) {
        return under(prefix, ConfigProvider.getConfig());
    }

    /** As {@link #under(String)}, from the given configuration. */
    public static ClientSettings under(String prefix, Config config) {
        Map<String, String> values = new TreeMap<>();
        if (prefix == null || prefix.isBlank()) return new ClientSettings("", values);
        String p = prefix.endsWith(".") ? prefix.substring(0, prefix.length() - 1) : prefix;
        for (String name : config.getPropertyNames()) {
            if (!name.startsWith(p + ".") || name.length() == p.length() + 1) continue;
            config.getOptionalValue(name, String.class).ifPresent(v -> values.put(name.substring(p.length() + 1), v));
        }
        return new ClientSettings(p, values);
    }

    /** The client's setting names and values. */
    public Map<String, String> values() {
        return values;
    }

    /** The full name of one setting, for errors: {@code pgrouter.sinks.kafka.producer.sasl.jaas.config}. */
    public String name(String key) {
        return prefix.isEmpty() ? key : prefix + "." + key;
    }

    public String prefix() {
        return prefix;
    }

    /**
     * Refuses settings the sink sets itself (its delivery guarantee depends on them, or it has its own option for
     * them): a clear error naming the setting and what to use instead.
     */
    public void refuse(Map<String, String> ownedKeysAndInstead, String sink) {
        for (Map.Entry<String, String> owned : ownedKeysAndInstead.entrySet()) {
            if (values.containsKey(owned.getKey())) {
                throw new IllegalArgumentException(sink + ": setting " + name(owned.getKey()) + " is not passed to the client: " + owned.getValue());
            }
        }
    }

    /** The settings whose names are in {@code known} (a second client of the same system takes the ones it knows). */
    public Map<String, String> only(Set<String> known) {
        Map<String, String> out = new TreeMap<>(values);
        out.keySet().retainAll(known);
        return out;
    }
}
