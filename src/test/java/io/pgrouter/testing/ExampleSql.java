package io.pgrouter.testing;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

/**
 * Applies an example's SQL files (every {@code *.sql} of its folders, in name order) to the test database before the
 * router starts: its routes name the tables they create, and the router refuses a route on a missing table.
 */
public class ExampleSql implements QuarkusTestResourceLifecycleManager {

    static final String FOLDERS = "folders";

    private String[] folders;

    @Override
    public void init(Map<String, String> args) {
        folders = args.get(FOLDERS).split(",");
    }

    /** After {@link TestServers}, which starts the database. */
    @Override
    public int order() {
        return 100;
    }

    @Override
    public Map<String, String> start() {
        for (String folder : folders) {
            try (Stream<Path> files = Files.list(Path.of(folder))) {
                for (Path sql : files.filter(f -> f.toString().endsWith(".sql")).sorted().toList()) Sql.exec(Files.readString(sql));
            } catch (Exception e) {
                throw new IllegalStateException("the SQL of " + folder + " did not apply", e);
            }
        }
        return Map.of();
    }

    @Override
    public void stop() {
    }
}
