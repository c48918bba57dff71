package io.pgrouter.lint;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;

/**
 * The sink pages under docs/sinks/ are generated from the Kamelet files where they repeat them: each page's parameter
 * table (between its two marker lines) and the index docs/sinks/README.md. This test fails when a page is stale and
 * says how to regenerate; run with {@value #WRITE}=true it writes the pages instead:
 * {@code mvn -B -ntp test -Dtest=KameletDocsTest -Dpgrouter.docs.write=true -Dsurefire.failIfNoSpecifiedTests=false}
 */
class KameletDocsTest {

    static final String WRITE = "pgrouter.docs.write";
    private static final Path PAGES = Path.of("docs", "sinks");
    private static final String END = "<!-- end of generated parameters -->";
    private static final String REGENERATE = "mvn -B -ntp test -Dtest=KameletDocsTest -Dpgrouter.docs.write=true -Dsurefire.failIfNoSpecifiedTests=false";

    private static String start(String kamelet) {
        return "<!-- parameters of kamelets/" + kamelet + ".kamelet.yaml, generated: edit the Kamelet, then run " + REGENERATE + " -->";
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> definition(Path kamelet) throws IOException {
        Map<String, Object> doc = (Map<String, Object>) new Load(LoadSettings.builder().build()).loadFromString(Files.readString(kamelet));
        return (Map<String, Object>) ((Map<String, Object>) doc.get("spec")).get("definition");
    }

    private static String name(Path kamelet) {
        return kamelet.getFileName().toString().replace(".kamelet.yaml", "");
    }

    private static String cell(Object text) {
        return String.valueOf(text).replace("\n", " ").replace("|", "\\|").trim();
    }

    /** The parameter table of one Kamelet: name, default, what it is (its title and description), required ones first. */
    @SuppressWarnings("unchecked")
    static String table(Path kamelet) throws IOException {
        Map<String, Object> definition = definition(kamelet);
        List<String> required = (List<String>) definition.getOrDefault("required", List.of());
        Map<String, Map<String, Object>> properties = (Map<String, Map<String, Object>>) definition.get("properties");
        List<String> names = new ArrayList<>(required);
        properties.keySet().stream().filter(n -> !required.contains(n)).forEach(names::add);
        StringBuilder out = new StringBuilder("| parameter | default | what it is |\n|---|---|---|\n");
        for (String n : names) {
            Map<String, Object> p = properties.get(n);
            Object def = p.get("default");
            String shown = required.contains(n) ? "required" : def == null || def.toString().isEmpty() ? "—" : "`" + cell(def) + "`";
            StringBuilder what = new StringBuilder("**" + cell(p.get("title")) + "**. " + cell(p.get("description")));
            if (p.get("enum") instanceof List<?> values) what.append(" One of: ").append(values.stream().map(v -> "`" + v + "`").toList().toString().replaceAll("[\\[\\]]", "")).append('.');
            if ("password".equals(p.get("format"))) what.append(" A secret: give it from a placeholder.");
            out.append("| `").append(n).append("` | ").append(shown).append(" | ").append(what).append(" |\n");
        }
        return out.toString();
    }

    /** docs/sinks/README.md: every Kamelet, its title and first sentence, and its page. */
    static String index(List<Path> kamelets, Map<String, Path> pages) throws IOException {
        StringBuilder out = new StringBuilder("""
                # Sinks

                <!-- generated from the Kamelet files in kamelets/: edit those, then run %s -->

                A sink is a Kamelet: a route sends to it with `to: kamelet:<name>?param=...`. Each page below has the
                sink's parameters, generated from its Kamelet file, and what it does when the destination is down or
                refuses an event. A system that is not listed: [add a sink without Java](add-a-sink.md).

                | Kamelet | title | what it does |
                |---|---|---|
                """.formatted(REGENERATE));
        for (Path k : kamelets) {
            Map<String, Object> definition = definition(k);
            String description = cell(definition.get("description"));
            int stop = description.indexOf(". ");
            String first = stop < 0 ? description : description.substring(0, stop + 1);
            out.append("| [`").append(name(k)).append("`](").append(pages.get(name(k)).getFileName()).append(") | ")
                    .append(cell(definition.get("title"))).append(" | ").append(first).append(" |\n");
        }
        return out.toString();
    }

    @Test
    void sinkPagesRepeatTheirKameletsExactly() throws IOException {
        boolean write = Boolean.getBoolean(WRITE);
        List<Path> kamelets = KameletLintTest.kamelets();
        List<Path> pageFiles;
        try (Stream<Path> files = Files.list(PAGES)) {
            pageFiles = files.filter(p -> p.toString().endsWith(".md") && !p.getFileName().toString().equals("README.md")).sorted().toList();
        }
        Map<String, Path> pages = new java.util.TreeMap<>();
        List<String> stale = new ArrayList<>();
        for (Path kamelet : kamelets) {
            String name = name(kamelet);
            String marker = start(name);
            String prefix = marker.substring(0, marker.indexOf(", generated"));
            Path page = null;
            for (Path p : pageFiles) {
                if (Files.readString(p).contains(prefix)) page = p;
            }
            assertThat(page).as("docs/sinks has no page for kamelets/" + name + ".kamelet.yaml: add one with the two lines\n" + marker + "\n" + END
                    + "\n(the parameter table is generated between them)").isNotNull();
            pages.put(name, page);
            String text = Files.readString(page);
            int from = text.indexOf(prefix);
            int to = text.indexOf(END, from);
            assertThat(to).as(page + ": the line " + END + " after the marker of " + name).isPositive();
            String fresh = text.substring(0, from) + marker + "\n\n" + table(kamelet) + "\n" + text.substring(to);
            if (!fresh.equals(text)) {
                if (write) Files.writeString(page, fresh);
                else stale.add(page.toString());
            }
        }
        Path indexPage = PAGES.resolve("README.md");
        String index = index(kamelets, pages);
        if (!Files.exists(indexPage) || !Files.readString(indexPage).equals(index)) {
            if (write) Files.writeString(indexPage, index);
            else stale.add(indexPage.toString());
        }
        assertThat(stale).as("sink pages that no longer match their Kamelets; regenerate them with " + REGENERATE).isEmpty();
    }
}
