package io.pgrouter.sink.webhook;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;

/** The Kamelet's parameter defaults are the pgwebhook endpoint's own: a route gets the same behaviour either way. */
class WebhookDefaultsTest {

    @Test
    @SuppressWarnings("unchecked")
    void kameletDefaultsEqualTheEndpointDefaults() throws Exception {
        Map<String, Object> doc = (Map<String, Object>) new Load(LoadSettings.builder().build())
                .loadFromString(Files.readString(Path.of("kamelets/webhook-sink.kamelet.yaml")));
        Map<String, Object> definition = (Map<String, Object>) ((Map<String, Object>) doc.get("spec")).get("definition");
        Map<String, Map<String, Object>> properties = (Map<String, Map<String, Object>>) definition.get("properties");
        WebhookConfig endpoint = new WebhookConfig();
        for (String name : new String[] { "mode", "timeoutMs", "retries", "backoffMs", "batchSize", "lingerMs", "concurrency", "retryBudgetMs",
                "maxBackoffMs" }) {
            Object value = WebhookConfig.class.getMethod("get" + Character.toUpperCase(name.charAt(0)) + name.substring(1)).invoke(endpoint);
            assertThat(String.valueOf(value)).as(name).isEqualTo(String.valueOf(properties.get(name).get("default")));
        }
        assertThat(endpoint.getConcurrency()).isEqualTo(WebhookConfig.DEFAULT_CONCURRENCY);
    }
}
