package io.pgrouter.testing;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

import jakarta.mail.Message;
import jakarta.mail.internet.MimeMessage;

import com.icegreen.greenmail.util.GreenMail;
import com.icegreen.greenmail.util.ServerSetup;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

/**
 * A real SMTP server in the test JVM (GreenMail) on a loopback port for the email sink; {@link #stopServer()} and
 * {@link #startServer()} take it away and bring it back on the same port (what it received before is forgotten).
 * Its settings are {@code <prefix>.host}, {@code .port} and {@code .security} (plain SMTP), the prefix
 * {@code pgrouter.test.smtp} unless the entry's {@link #PREFIX} argument names another (an example's
 * {@code pgrouter.sinks.email}).
 */
public class SmtpServer implements QuarkusTestResourceLifecycleManager {

    public static final String PREFIX = "prefix";

    private static ServerSetup setup;
    private String prefix = "pgrouter.test.smtp";
    private static volatile GreenMail server;

    /** The messages the server accepted since it last started. */
    public static GreenMail server() {
        return server;
    }

    /** What the server accepted for this address (a To recipient) since it last started. */
    public static List<MimeMessage> inbox(String address) {
        return Arrays.stream(server.getReceivedMessages()).filter(m -> {
            try {
                return Arrays.stream(m.getRecipients(Message.RecipientType.TO)).anyMatch(a -> a.toString().equals(address));
            } catch (jakarta.mail.MessagingException e) {
                throw new IllegalStateException(e);
            }
        }).toList();
    }

    public static synchronized void stopServer() {
        server.stop();
    }

    public static synchronized void startServer() {
        server = new GreenMail(setup);
        server.start();
    }

    @Override
    public void init(Map<String, String> args) {
        prefix = args.getOrDefault(PREFIX, prefix);
    }

    @Override
    public Map<String, String> start() {
        try {
            setup = new ServerSetup(Ports.free(), "127.0.0.1", ServerSetup.PROTOCOL_SMTP);
        } catch (java.io.IOException e) {
            throw new IllegalStateException("no free port for the SMTP server", e);
        }
        startServer();
        return Map.of(prefix + ".host", "127.0.0.1", prefix + ".port", String.valueOf(setup.getPort()), prefix + ".security", "none");
    }

    @Override
    public void stop() {
        if (server != null) server.stop();
    }
}
