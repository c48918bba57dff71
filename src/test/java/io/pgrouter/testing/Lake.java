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

/**
 * Reads what the datalake sink wrote in JSON Lines, as a user would: every line of every committed {@code .jsonl}
 * file under a folder ({@code <schema>.<table>/dt=.../hour=.../part-*.jsonl}), in file-name order (files are named by
 * the time they were started). Each row is the row's columns plus {@code _event_id}, {@code _op}, ...
 */
public final class Lake {

    private Lake() {
    }

    public static List<JsonNode> rows(String folder) {
        return rows(TestServers.lake, folder);
    }

    /** As {@link #rows(String)}, for a lake under another root. */
    public static List<JsonNode> rows(Path root, String folder) {
        Path dir = root.resolve(folder);
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
