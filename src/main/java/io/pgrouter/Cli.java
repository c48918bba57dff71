package io.pgrouter;

import java.util.Arrays;

import io.pgrouter.install.InstallCommand;
import io.pgrouter.sink.webhook.WebhooksCommand;
import io.pgrouter.store.DeadLettersCommand;

/** {@code bin/pgrouter <command>}: the router's commands, run beside (not inside) the router. */
public final class Cli {

    private Cli() {
    }

    public static void main(String... args) {
        String[] rest = args.length == 0 ? args : Arrays.copyOfRange(args, 1, args.length);
        int code = switch (args.length == 0 ? "" : args[0]) {
            case "install" -> InstallCommand.run(rest);
            case "dead-letters" -> DeadLettersCommand.run(rest);
            case "webhooks" -> WebhooksCommand.run(rest);
            default -> {
                System.err.println("usage: pgrouter install --table <schema.table> --mode notify|durable --channel <name>\n"
                        + "       pgrouter dead-letters list|replay ...\n"
                        + "       pgrouter webhooks list|enable <url>");
                yield 2;
            }
        };
        System.exit(code);
    }
}
