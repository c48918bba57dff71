package io.pgrouter.testing;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * One stable loopback address in front of a server that can move, as a virtual IP or a Kubernetes Service in front of
 * the current PostgreSQL primary: bytes are copied as they are; {@link #moveTo} cuts the open connections, and new ones
 * go to the new port. {@link #silence} stands in for a network that drops packets without a word (no reset, no close):
 * connections stay open and new ones are accepted, but no byte goes through either way until it is lifted.
 */
public final class TcpForwarder implements AutoCloseable {

    private volatile ServerSocket server;
    private final int port;
    private final List<Socket> open = new CopyOnWriteArrayList<>();
    private volatile int target;
    private volatile boolean silent;

    public TcpForwarder(int target) throws IOException {
        this.target = target;
        this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        this.port = server.getLocalPort();
        ServerSocket listening = server;
        daemon(() -> accept(listening));
    }

    public int port() {
        return port;
    }

    /** As a server that stopped: the open connections are cut and new ones refused, until {@link #listen()}. */
    public synchronized void refuse() throws IOException {
        server.close();
        moveTo(target);
    }

    /** Accepts connections again, on the same port. */
    public synchronized void listen() throws IOException {
        ServerSocket s = new ServerSocket();
        s.setReuseAddress(true);
        s.bind(new java.net.InetSocketAddress(InetAddress.getLoopbackAddress(), port), 50);
        server = s;
        daemon(() -> accept(s));
    }

    public void moveTo(int port) {
        target = port;
        for (Socket s : open) close(s);
        open.clear();
    }

    /** Silent (true): bytes are held, in both directions, on every connection; false lets them through again. */
    public void silence(boolean silent) {
        this.silent = silent;
    }

    private void accept(ServerSocket listening) {
        while (!listening.isClosed()) {
            Socket client;
            try {
                client = listening.accept();
            } catch (IOException closed) {
                return;
            }
            try {
                Socket upstream = new Socket(InetAddress.getLoopbackAddress(), target);
                open.add(client);
                open.add(upstream);
                daemon(() -> copy(client, upstream, this));
                daemon(() -> copy(upstream, client, this));
            } catch (IOException refused) {
                close(client); // nothing listens there: the client sees its connection closed
            }
        }
    }

    private static void copy(Socket from, Socket to, TcpForwarder forwarder) {
        byte[] buffer = new byte[16 * 1024];
        try {
            var in = from.getInputStream();
            var out = to.getOutputStream();
            int n;
            while ((n = in.read(buffer)) >= 0) {
                while (forwarder.silent && !to.isClosed()) Thread.sleep(20);
                out.write(buffer, 0, n);
            }
            // a silent network does not carry the close either
            while (forwarder.silent && !to.isClosed()) Thread.sleep(20);
        } catch (IOException e) {
            // one side is gone: both are closed below
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        close(from);
        close(to);
    }

    private static void close(Socket s) {
        try {
            s.close();
        } catch (IOException e) {
            // closing anyway
        }
    }

    private static void daemon(Runnable r) {
        Thread t = new Thread(r, "tcp-forwarder");
        t.setDaemon(true);
        t.start();
    }

    @Override
    public void close() throws IOException {
        server.close();
        moveTo(target);
    }
}
