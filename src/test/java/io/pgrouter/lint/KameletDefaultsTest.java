package io.pgrouter.lint;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;

/**
 * A sink's defaults have one value: each default a Kamelet declares for a parameter it hands to one of our
 * components is the default of that option in the sink's endpoint (what a route gets with the component directly).
 */
class KameletDefaultsTest {

    /** The component a Kamelet ends in → its endpoint class. */
    private static final Map<String, String> ENDPOINTS = Map.of(
            "pgwebhook", "io.pgrouter.sink.webhook.WebhookConfig",
            "pgjms", "io.pgrouter.sink.jms.JmsSinkEndpoint",
            "pgkafka", "io.pgrouter.sink.kafka.KafkaSinkEndpoint",
            "pgrabbitmq", "io.pgrouter.sink.rabbitmq.RabbitMqEndpoint",
            "pgsearch", "io.pgrouter.sink.search.SearchEndpoint",
            "pgemail", "io.pgrouter.sink.email.EmailEndpoint",
            "pglake", "io.pgrouter.sink.datalake.DatalakeEndpoint");

    @Test
    @SuppressWarnings("unchecked")
    void everyKameletDefaultIsTheEndpointsDefault() throws Exception {
        List<String> differ = new ArrayList<>();
        int checked = 0;
        for (Path file : KameletLintTest.kamelets()) {
            Map<String, Object> spec = (Map<String, Object>) ((Map<String, Object>) new Load(LoadSettings.builder().build())
                    .loadFromString(Files.readString(file))).get("spec");
            Map<String, Map<String, Object>> properties = (Map<String, Map<String, Object>>) ((Map<String, Object>) spec.get("definition")).get("properties");
            List<Map<String, Object>> steps = (List<Map<String, Object>>) ((Map<String, Object>) ((Map<String, Object>) spec.get("template")).get("from")).get("steps");
            for (Map<String, Object> step : steps) {
                if (!(step.get("to") instanceof Map<?, ?> to) || !(to.get("uri") instanceof String uri) || !ENDPOINTS.containsKey(uri.split(":")[0])) continue;
                Object endpoint = endpoint(ENDPOINTS.get(uri.split(":")[0]), uri);
                for (Map.Entry<String, Object> option : ((Map<String, Object>) to.get("parameters")).entrySet()) {
                    String parameter = String.valueOf(option.getValue()).replaceAll("^RAW\\((.*)\\)$", "$1").replaceAll("^\\{\\{(\\w+)}}$", "$1");
                    Map<String, Object> declared = properties.get(parameter);
                    if (declared == null || !declared.containsKey("default")) continue;
                    String kamelet = String.valueOf(declared.get("default"));
                    Object value = getter(endpoint, option.getKey());
                    String java = value == null ? "" : String.valueOf(value);
                    checked++;
                    if (!kamelet.equals(java)) differ.add(file.getFileName() + " " + parameter + ": Kamelet " + kamelet + ", endpoint " + java);
                }
            }
        }
        assertThat(checked).isGreaterThan(40);
        assertThat(differ).as("defaults declared twice with two values").isEmpty();
    }

    private static Object endpoint(String className, String uri) throws Exception {
        if (io.pgrouter.delivery.SinkConfig.class.isAssignableFrom(Class.forName(className))) return Class.forName(className).getConstructor().newInstance();
        for (var c : Class.forName(className).getDeclaredConstructors()) {
            if (c.getParameterCount() == 2 && c.getParameterTypes()[0] == String.class) {
                c.setAccessible(true);
                return c.newInstance(uri, null);
            }
        }
        throw new IllegalStateException(className + " has no (uri, component) constructor");
    }

    private static Object getter(Object endpoint, String option) throws Exception {
        String suffix = Character.toUpperCase(option.charAt(0)) + option.substring(1);
        for (String prefix : List.of("get", "is")) {
            try {
                return endpoint.getClass().getMethod(prefix + suffix).invoke(endpoint);
            } catch (NoSuchMethodException next) {
                // the other prefix
            }
        }
        throw new IllegalStateException(endpoint.getClass().getSimpleName() + " has no option " + option);
    }
}
