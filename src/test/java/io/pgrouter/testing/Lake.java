package io.pgrouter.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;

import io.pgrouter.event.CanonicalEvent;

/** Reads what the datalake sink wrote, as a user would: every JSON line under a table's folder. */
public final class Lake {

    private Lake() {
    }

    public static List<JsonNode> events(String folder) {
        Path dir = TestServers.lake.resolve(folder);
        if (!Files.isDirectory(dir)) return List.of();
        List<JsonNode> events = new ArrayList<>();
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path file : files.filter(p -> p.toString().endsWith(".jsonl")).sorted().toList()) {
                for (String line : Files.readAllLines(file)) {
                    if (!line.isBlank()) events.add(CanonicalEvent.JSON.readTree(line));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return events;
    }
}
