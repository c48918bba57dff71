package io.pgrouter.config;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;

/**
 * The router's settings as {@code bin/pgrouter}'s commands read them, outside Quarkus and in the router's order (the
 * help of {@code bin/pgrouter} says the same): -D system properties, then the environment ({@code pgrouter.postgres.url}
 * → {@code PGROUTER_POSTGRES_URL}), then {@code config/application.properties} in the working folder, then the
 * {@code application.properties} packaged with the router; {@code %prod.} keys apply unless {@code -Dquarkus.profile}
 * names another profile.
 */
public final class CommandConfig {

    /** The ordinals Quarkus gives these files, so that a command and the router agree on which one wins. */
    static final int WORKING_FOLDER_ORDINAL = 260;
    static final int PACKAGED_ORDINAL = 250;
    static final Path WORKING_FOLDER_FILE = Path.of("config", "application.properties");
    static final String TRACES = "quarkus.log.category.\"io.pgrouter\".level";

    private CommandConfig() {
    }

    /** Every setting, for reading single values. */
    public static SmallRyeConfig settings() {
        return builder().build();
    }

    /** Where the commands find PostgreSQL; a missing URL is said in one sentence that names the places to set it. */
    public static PostgresConfig postgres() {
        if (settings().getOptionalValue("pgrouter.postgres.url", String.class).isEmpty()) {
            throw new IllegalStateException("pgrouter.postgres.url is not set: set the environment variable PGROUTER_POSTGRES_URL, "
                    + "-Dpgrouter.postgres.url=jdbc:postgresql://host:5432/database in JAVA_OPTS, or pgrouter.postgres.url in "
                    + "config/application.properties in the working folder.");
        }
        return builder().withMapping(PostgresConfig.class).build().getConfigMapping(PostgresConfig.class);
    }

    /** The WAL source's settings (slot, publication, ...), for commands that read the WAL themselves. */
    public static WalConfig wal() {
        return builder().withMapping(WalConfig.class).build().getConfigMapping(WalConfig.class);
    }

    /** One setting, or {@code otherwise} when it is unset or the settings cannot be read. */
    public static String value(String key, String otherwise) {
        try {
            return settings().getOptionalValue(key, String.class).orElse(otherwise);
        } catch (RuntimeException e) {
            return otherwise;
        }
    }

    /** Whether a failed command prints its stack trace: with the router's own switch, io.pgrouter at DEBUG. */
    public static boolean traces() {
        String level = value(TRACES, "INFO").toUpperCase(java.util.Locale.ROOT);
        return level.equals("DEBUG") || level.equals("TRACE") || level.equals("ALL");
    }

    private static SmallRyeConfigBuilder builder() {
        try {
            // the default sources: -D system properties (ordinal 400) and the environment (300)
            SmallRyeConfigBuilder builder = new SmallRyeConfigBuilder().addDefaultSources()
                    .withSources(new PropertiesConfigSource(CommandConfig.class.getResource("/application.properties"), PACKAGED_ORDINAL));
            if (Files.isRegularFile(WORKING_FOLDER_FILE)) {
                builder.withSources(new PropertiesConfigSource(WORKING_FOLDER_FILE.toUri().toURL(), WORKING_FOLDER_ORDINAL));
            }
            return builder.withProfile(System.getProperty("quarkus.profile", "prod"));
        } catch (IOException e) {
            throw new UncheckedIOException("the settings could not be read: " + e.getMessage(), e);
        }
    }
}
