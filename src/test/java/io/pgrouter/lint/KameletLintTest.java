package io.pgrouter.lint;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;

/**
 * Every Kamelet declares what it uses and uses what it declares, with a type, title and description for each
 * parameter, a file name matching its name, and secrets marked as passwords; and it follows apache/camel-kamelets'
 * conventions: a title ending in Sink, Source or Action, capitalised parameter titles, secrets in the credentials group,
 * an icon and the catalog annotations.
 */
class KameletLintTest {

    private static final Pattern PLACEHOLDER = Pattern.compile("\\{\\{([A-Za-z0-9_.-]+)}}");

    static List<Path> kamelets() throws IOException {
        try (Stream<Path> files = Files.list(Path.of("kamelets"))) {
            return files.filter(p -> p.toString().endsWith(".kamelet.yaml")).sorted().toList();
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void everyParameterIsDeclaredUsedAndDocumented() throws IOException {
        assertThat(kamelets()).isNotEmpty();
        for (Path file : kamelets()) {
            String text = Files.readString(file);
            Map<String, Object> doc = (Map<String, Object>) new Load(LoadSettings.builder().build()).loadFromString(text);
            Map<String, Object> metadata = (Map<String, Object>) doc.get("metadata");
            assertThat(file.getFileName().toString()).isEqualTo(metadata.get("name") + ".kamelet.yaml");
            assertThat(metadata.get("name").toString()).matches("[a-z0-9-]+-(source|sink|action)");
            Map<String, Object> definition = (Map<String, Object>) ((Map<String, Object>) doc.get("spec")).get("definition");
            Map<String, Map<String, Object>> properties = (Map<String, Map<String, Object>>) definition.get("properties");
            properties.forEach((name, p) -> {
                // the kamelet: endpoint's own options would swallow a parameter of the same name
                assertThat(name).as(file + " parameter " + name).isNotIn("timeout", "block", "location", "routeId", "templateId",
                        "failIfNoConsumers", "noErrorHandler", "bridgeErrorHandler", "exceptionHandler", "exchangePattern", "lazyStartProducer");
                assertThat(p).as(file + " parameter " + name).containsKeys("type", "title", "description", "example");
                if (name.toLowerCase().contains("secret") || name.toLowerCase().contains("password")) {
                    // a secret's example is a placeholder, never a literal key
                    assertThat(String.valueOf(p.get("example"))).as(file + " parameter " + name).startsWith("{{");
                    assertThat(p.get("format")).as(file + " parameter " + name).isEqualTo("password");
                }
            });
            Set<String> used = new TreeSet<>();
            String template = text.substring(text.indexOf("  template:"));
            Matcher m = PLACEHOLDER.matcher(template);
            while (m.find()) used.add(m.group(1));
            assertThat(used).as(file + ": placeholders used in the template").isEqualTo(new TreeSet<>(properties.keySet()));
            List<String> required = (List<String>) definition.getOrDefault("required", List.of());
            assertThat(properties.keySet()).as(file + ": required parameters are declared").containsAll(required);
        }
    }

    /** Words a title keeps in lower case, as apache/camel-kamelets' titles do ("Number of Partitions"). */
    private static final Set<String> SMALL_WORDS = Set.of("a", "an", "and", "as", "at", "by", "for", "in", "of", "on", "or", "per", "the", "to", "with");

    @Test
    @SuppressWarnings("unchecked")
    void kameletsFollowTheCamelKameletsCatalogConventions() throws IOException {
        for (Path file : kamelets()) {
            Map<String, Object> doc = (Map<String, Object>) new Load(LoadSettings.builder().build()).loadFromString(Files.readString(file));
            Map<String, Object> metadata = (Map<String, Object>) doc.get("metadata");
            String name = metadata.get("name").toString();
            String kind = name.substring(name.lastIndexOf('-') + 1);
            assertThat(((Map<String, Object>) metadata.get("labels")).get("camel.apache.org/kamelet.type")).as(file + " label kamelet.type").isEqualTo(kind);
            Map<String, Object> annotations = (Map<String, Object>) metadata.get("annotations");
            assertThat(annotations).as(file + " annotations").containsKeys("camel.apache.org/kamelet.support.level", "camel.apache.org/catalog.version",
                    "camel.apache.org/provider", "camel.apache.org/kamelet.group", "camel.apache.org/kamelet.namespace");
            assertThat(String.valueOf(annotations.get("camel.apache.org/kamelet.icon"))).as(file + " icon").startsWith("data:image/svg+xml;base64,");
            Map<String, Object> definition = (Map<String, Object>) ((Map<String, Object>) doc.get("spec")).get("definition");
            String kindTitle = Character.toUpperCase(kind.charAt(0)) + kind.substring(1);
            assertThat(definition.get("title").toString()).as(file + " title").endsWith(" " + kindTitle);
            ((Map<String, Map<String, Object>>) definition.get("properties")).forEach((param, p) -> {
                String title = p.get("title").toString();
                String[] words = title.split(" ");
                for (int i = 0; i < words.length; i++) {
                    String w = words[i];
                    boolean lowerCaseAllowed = i > 0 && (SMALL_WORDS.contains(w) || w.startsWith("("));
                    if (!lowerCaseAllowed && !w.isEmpty() && Character.isLowerCase(w.charAt(0))) {
                        throw new AssertionError(file + " parameter " + param + ": title '" + title + "' must be capitalised ('" + w + "')");
                    }
                }
                if ("password".equals(p.get("format"))) {
                    assertThat((List<String>) p.get("x-descriptors")).as(file + " parameter " + param + ": a secret is in the credentials group")
                            .contains("urn:camel:group:credentials");
                }
            });
        }
    }

    @Test
    void routeFilesAreNamedAfterTheirRouteAndTakeValuesFromPlaceholders() throws IOException {
        try (Stream<Path> files = Files.list(Path.of("routes"))) {
            for (Path file : files.filter(p -> p.toString().endsWith(".yaml")).toList()) {
                String text = Files.readString(file);
                String id = file.getFileName().toString().replace(".yaml", "");
                assertThat(text).as(file.toString()).contains("id: " + id);
                assertThat(text).as(file + ": no literal hosts").doesNotContainPattern("https?://");
            }
        }
    }
}
