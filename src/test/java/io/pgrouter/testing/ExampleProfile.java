package io.pgrouter.testing;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import io.quarkus.test.junit.QuarkusTestProfile;

/**
 * The router as an example's README runs it: only the route files of its folders under {@code examples/}, after the
 * example's own SQL files ({@link ExampleSql}) were applied to the test database, so the example cannot drift from
 * what its test checks.
 */
public abstract class ExampleProfile implements QuarkusTestProfile {

    /** Folders (from the repository root) whose {@code *.yaml} are the routes and whose {@code *.sql} are applied. */
    protected abstract List<String> folders();

    /** Servers beside PostgreSQL and the webhook receiver ({@link TestServers}), e.g. a broker. */
    protected List<TestResourceEntry> servers() {
        return List.of();
    }

    /** Settings the example's README asks the user to set. */
    protected Map<String, String> config() {
        return Map.of();
    }

    @Override
    public Map<String, String> getConfigOverrides() {
        Map<String, String> c = new HashMap<>(config());
        c.put("camel.main.routes-include-pattern", String.join(",", folders().stream().map(f -> "file:" + f + "/*.yaml").toList()));
        return c;
    }

    @Override
    public List<TestResourceEntry> testResources() {
        List<TestResourceEntry> all = new ArrayList<>(servers());
        all.add(new TestResourceEntry(ExampleSql.class, Map.of(ExampleSql.FOLDERS, String.join(",", folders()))));
        return all;
    }
}
