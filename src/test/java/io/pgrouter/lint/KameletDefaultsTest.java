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

import io.pgrouter.delivery.SinkConfig;

/**
 * A sink's defaults have one value: each default a Kamelet declares for a parameter it hands to one of our
 * components is the default of that option in the sink's typed configuration (what a route gets with the component
 * directly).
 */
class KameletDefaultsTest {

    @Test
    @SuppressWarnings("unchecked")
    void everyKameletDefaultIsTheConfigsDefault() throws Exception {
        Map<String, SinkConfig> configs = OurSinks.configs();
        List<String> differ = new ArrayList<>();
        int checked = 0;
        for (Path file : KameletLintTest.kamelets()) {
            Map<String, Object> spec = (Map<String, Object>) ((Map<String, Object>) new Load(LoadSettings.builder().build())
                    .loadFromString(Files.readString(file))).get("spec");
            Map<String, Map<String, Object>> properties = (Map<String, Map<String, Object>>) ((Map<String, Object>) spec.get("definition")).get("properties");
            List<Map<String, Object>> steps = (List<Map<String, Object>>) ((Map<String, Object>) ((Map<String, Object>) spec.get("template")).get("from")).get("steps");
            for (Map<String, Object> step : steps) {
                if (!(step.get("to") instanceof Map<?, ?> to) || !(to.get("uri") instanceof String uri) || !configs.containsKey(uri.split(":")[0])) continue;
                SinkConfig config = configs.get(uri.split(":")[0]);
                for (Map.Entry<String, Object> option : ((Map<String, Object>) to.get("parameters")).entrySet()) {
                    String parameter = String.valueOf(option.getValue()).replaceAll("^RAW\\((.*)\\)$", "$1").replaceAll("^\\{\\{(\\w+)}}$", "$1");
                    Map<String, Object> declared = properties.get(parameter);
                    if (declared == null || !declared.containsKey("default")) continue;
                    String kamelet = String.valueOf(declared.get("default"));
                    Object value = getter(config, option.getKey());
                    String java = value == null ? "" : String.valueOf(value);
                    checked++;
                    if (!kamelet.equals(java)) differ.add(file.getFileName() + " " + parameter + ": Kamelet " + kamelet + ", " + config.getClass().getSimpleName() + " " + java);
                }
            }
        }
        assertThat(checked).isGreaterThan(40);
        assertThat(differ).as("defaults declared twice with two values").isEmpty();
    }

    private static Object getter(SinkConfig config, String option) throws Exception {
        String suffix = Character.toUpperCase(option.charAt(0)) + option.substring(1);
        for (String prefix : List.of("get", "is")) {
            try {
                return config.getClass().getMethod(prefix + suffix).invoke(config);
            } catch (NoSuchMethodException next) {
                // the other prefix
            }
        }
        throw new IllegalStateException(config.getClass().getSimpleName() + " has no option " + option);
    }
}
