package io.pgrouter.lint;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

import io.pgrouter.delivery.SinkConfig;

/**
 * A sink records its dead letters, retry keys and metrics under its Kamelet's name, so
 * {@code bin/pgrouter dead-letters list --sink <kamelet>} finds them: each Kamelet on one of our components is named
 * as the sink's code names itself.
 */
class SinkNamesTest {

    private static final Pattern OUR_COMPONENT = Pattern.compile("uri: \"(pg[a-z]+):([a-z-]+|\\{\\{sink}})\"");

    @Test
    void everyKameletOnOurComponentsIsTheNameItsSinkRecords() throws Exception {
        Map<String, SinkConfig> configs = OurSinks.configs();
        Map<String, String> kamelets = new TreeMap<>();
        for (Path file : KameletLintTest.kamelets()) {
            Matcher m = OUR_COMPONENT.matcher(Files.readString(file));
            if (!m.find()) continue;
            String kamelet = file.getFileName().toString().replace(".kamelet.yaml", "");
            if (m.group(1).equals("pgdurable")) {
                // durable-sink's own component takes the name from its path: the Kamelet's name, or its sink parameter
                // whose default is the Kamelet's name
                String named = m.group(2).equals("{{sink}}") ? sinkDefault(file) : m.group(2);
                assertThat(named).as("the sink name " + kamelet + " records").isEqualTo(kamelet);
                continue;
            }
            assertThat(configs).as("the sink behind " + file).containsKey(m.group(1));
            kamelets.put(kamelet, configs.get(m.group(1)).sink());
        }
        // every sink but the durable one, whose Kamelets were checked above
        assertThat(kamelets).hasSize(configs.size() - 1);
        kamelets.forEach((kamelet, recorded) -> assertThat(recorded).as("the sink name " + kamelet + " records").isEqualTo(kamelet));
    }

    /** The default of a Kamelet's sink parameter. */
    private static String sinkDefault(Path file) throws Exception {
        Matcher m = Pattern.compile("\n      sink:\n(?:        .*\n)*?        default: (\\S+)").matcher(Files.readString(file));
        return m.find() ? m.group(1) : null;
    }
}
