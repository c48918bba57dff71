package io.pgrouter.install;

import java.sql.Connection;

import io.pgrouter.config.PostgresConfig;
import io.pgrouter.postgres.Postgres;
import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;

/**
 * {@code bin/pgrouter install --table s.t --mode notify|durable --channel c}: installs the change trigger on a
 * table and exits, without starting the router; {@code --replica-identity full} sets the table's replica identity
 * (with or without a trigger). Reads the database from the router's own configuration.
 */
public final class InstallCommand {

    private InstallCommand() {
    }

    public static int run(String... args) {
        String table = null;
        String mode = "notify";
        String channel = null;
        String replicaIdentity = null;
        for (int i = 0; i < args.length; i++) {
            String value = i + 1 < args.length ? args[i + 1] : null;
            switch (args[i]) {
                case "--table" -> { table = value; i++; }
                case "--mode" -> { mode = value; i++; }
                case "--channel" -> { channel = value; i++; }
                case "--replica-identity" -> { replicaIdentity = value; i++; }
                default -> {
                    System.err.println("unknown option " + args[i]);
                    return usage();
                }
            }
        }
        if (table == null || mode == null || (channel == null && replicaIdentity == null)) return usage();
        try {
            Postgres postgres = new Postgres(config().getConfigMapping(PostgresConfig.class));
            try (Connection c = postgres.open()) {
                if (replicaIdentity != null) System.out.println(TriggerInstaller.replicaIdentity(c, table, replicaIdentity));
                if (channel != null) TriggerInstaller.install(c, table, TriggerInstaller.Mode.parse(mode), channel).forEach(System.out::println);
            }
            return 0;
        } catch (Exception e) {
            System.err.println("install failed: " + e.getMessage());
            return 1;
        }
    }

    private static int usage() {
        System.err.println("usage: pgrouter-install --table <schema.table> [--mode notify|durable --channel <name>] [--replica-identity full|default]");
        return 2;
    }

    /** The router's configuration as the application sees it (application.properties, system properties, environment). */
    public static SmallRyeConfig config() throws java.io.IOException {
        return properties().withMapping(PostgresConfig.class).build();
    }

    /** The same sources without validation, for reading single values. */
    public static SmallRyeConfigBuilder properties() throws java.io.IOException {
        return new SmallRyeConfigBuilder()
                .addDefaultSources()
                .withSources(new PropertiesConfigSource(InstallCommand.class.getResource("/application.properties"), 250))
                .withProfile(System.getProperty("quarkus.profile", "prod"));
    }
}
