package ckpt.testenv;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A TCP relay in front of the KDC for the client's krb5.conf only (the cluster's own JVM talks
 * to the KDC directly), so a test can take "the KDC" away from the client and bring it back:
 * while down, every connection is closed at once, as a dead KDC host would refuse it.
 */
final class KdcGate implements AutoCloseable {
    private final ServerSocket server;
    private final int kdcPort;
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();
    private volatile boolean up = true;

    KdcGate(int kdcPort) throws IOException {
        this.kdcPort = kdcPort;
        this.server = new ServerSocket();
        server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        Thread t = new Thread(this::acceptLoop, "kdc-gate");
        t.setDaemon(true);
        t.start();
    }

    int port() {
        return server.getLocalPort();
    }

    boolean isUp() {
        return up;
    }

    /** Refuses new connections and cuts the open ones. */
    void down() {
        up = false;
        for (Socket s : open) closeQuietly(s);
        open.clear();
    }

    void up() {
        up = true;
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            Socket client;
            try {
                client = server.accept();
            } catch (IOException e) {
                return;
            }
            if (!up) {
                closeQuietly(client);
                continue;
            }
            try {
                Socket kdc = new Socket(InetAddress.getLoopbackAddress(), kdcPort);
                open.add(client);
                open.add(kdc);
                pump(client, kdc);
                pump(kdc, client);
            } catch (IOException e) {
                closeQuietly(client);
            }
        }
    }

    private void pump(Socket from, Socket to) {
        Thread t = new Thread(() -> {
            byte[] buf = new byte[8192];
            try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                int n;
                while ((n = in.read(buf)) >= 0) {
                    out.write(buf, 0, n);
                    out.flush();
                }
            } catch (IOException ignored) {
                // either side went away
            } finally {
                closeQuietly(from);
                closeQuietly(to);
                open.remove(from);
                open.remove(to);
            }
        }, "kdc-gate-pump");
        t.setDaemon(true);
        t.start();
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }

    @Override
    public void close() throws IOException {
        down();
        server.close();
    }
}
