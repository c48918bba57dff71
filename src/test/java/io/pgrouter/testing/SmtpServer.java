package io.pgrouter.testing;

import java.util.Map;

import com.icegreen.greenmail.util.GreenMail;
import com.icegreen.greenmail.util.ServerSetup;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

/**
 * A real SMTP server in the test JVM (GreenMail) on a loopback port for the email sink; {@link #stopServer()} and
 * {@link #startServer()} take it away and bring it back on the same port (what it received before is forgotten).
 */
public class SmtpServer implements QuarkusTestResourceLifecycleManager {

    private static ServerSetup setup;
    private static volatile GreenMail server;

    /** The messages the server accepted since it last started. */
    public static GreenMail server() {
        return server;
    }

    public static synchronized void stopServer() {
        server.stop();
    }

    public static synchronized void startServer() {
        server = new GreenMail(setup);
        server.start();
    }

    @Override
    public Map<String, String> start() {
        try (java.net.ServerSocket socket = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            setup = new ServerSetup(socket.getLocalPort(), "127.0.0.1", ServerSetup.PROTOCOL_SMTP);
        } catch (java.io.IOException e) {
            throw new IllegalStateException("no free port for the SMTP server", e);
        }
        startServer();
        return Map.of("pgrouter.test.smtp.host", "127.0.0.1", "pgrouter.test.smtp.port", String.valueOf(setup.getPort()));
    }

    @Override
    public void stop() {
        if (server != null) server.stop();
    }
}
