package io.pgrouter.postgres;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import javax.net.SocketFactory;

/**
 * pgjdbc's {@code socketFactory} for the WAL source's Debezium connections, replication connection included: plain
 * sockets, kept by group ({@code socketFactoryArg}, the slot) while open, so that the router can close them itself.
 * <p>
 * Why: PostgreSQL's fast shutdown (pg_ctl stop's default) waits for each logical walsender's client to confirm the
 * last WAL it was sent, and the router confirms only after storing its position in that same database, which the
 * shutdown no longer serves; Debezium's engine lets go of its replication connection only once it has stopped, which
 * under load takes a minute. Neither Debezium nor pgjdbc gives another way to drop that connection at once, so the
 * router closes the socket under it (as an immediate shutdown would) and reconnects when PostgreSQL is back. With TLS,
 * pgjdbc layers its TLS socket over this one; closing the plain socket ends both.
 */
public final class ReleasableSockets extends SocketFactory {

    private static final Map<String, Set<Socket>> OPEN = new ConcurrentHashMap<>();

    private final String group;

    /** pgjdbc makes one factory per connection, with the {@code socketFactoryArg} property as its argument. */
    public ReleasableSockets(String group) {
        this.group = group == null ? "" : group;
    }

    /** Whether {@code driver}'s class loader, which pgjdbc instantiates its socketFactory with, finds this class as it is. */
    public static boolean visibleTo(Class<?> driver) {
        try {
            return Class.forName(ReleasableSockets.class.getName(), false, driver.getClassLoader()) == ReleasableSockets.class;
        } catch (ClassNotFoundException | LinkageError e) {
            return false;
        }
    }

    /** Closes every open socket of {@code group}; returns how many. */
    public static int closeAll(String group) {
        Set<Socket> sockets = OPEN.get(group);
        if (sockets == null) return 0;
        int closed = 0;
        for (Socket s : sockets) {
            try {
                s.close();
                closed++;
            } catch (IOException e) {
                // it is being closed anyway
            }
        }
        return closed;
    }

    /** How many sockets of {@code group} are open. */
    public static int open(String group) {
        Set<Socket> sockets = OPEN.get(group);
        return sockets == null ? 0 : sockets.size();
    }

    @Override
    public Socket createSocket() {
        Set<Socket> sockets = OPEN.computeIfAbsent(group, g -> ConcurrentHashMap.newKeySet());
        Socket socket = new Socket() {
            @Override
            public synchronized void close() throws IOException {
                sockets.remove(this);
                super.close();
            }
        };
        sockets.add(socket);
        return socket;
    }

    @Override
    public Socket createSocket(String host, int port) throws IOException {
        return connected(new InetSocketAddress(host, port), null);
    }

    @Override
    public Socket createSocket(String host, int port, InetAddress localHost, int localPort) throws IOException {
        return connected(new InetSocketAddress(host, port), new InetSocketAddress(localHost, localPort));
    }

    @Override
    public Socket createSocket(InetAddress host, int port) throws IOException {
        return connected(new InetSocketAddress(host, port), null);
    }

    @Override
    public Socket createSocket(InetAddress address, int port, InetAddress localAddress, int localPort) throws IOException {
        return connected(new InetSocketAddress(address, port), new InetSocketAddress(localAddress, localPort));
    }

    /** A tracked socket connected to {@code address}, bound to {@code local} first unless null; closed again when it cannot connect. */
    private Socket connected(InetSocketAddress address, InetSocketAddress local) throws IOException {
        Socket s = createSocket();
        try {
            if (local != null) s.bind(local);
            s.connect(address);
        } catch (IOException e) {
            s.close();
            throw e;
        }
        return s;
    }
}
