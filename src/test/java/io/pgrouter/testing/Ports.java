package io.pgrouter.testing;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;

/** Ports for the test servers. */
public final class Ports {

    private Ports() {
    }

    /** A loopback port nothing listens on right now (the server started next takes it). */
    public static int free() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
