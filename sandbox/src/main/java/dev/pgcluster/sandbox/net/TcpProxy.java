package dev.pgcluster.sandbox.net;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One Service port: accepts on the Service's address and forwards each new connection to one of the
 * current endpoints, round robin. As with kube-proxy, a change of endpoints affects new connections
 * only; a connection with no endpoint is refused (closed at once).
 */
final class TcpProxy implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(TcpProxy.class);

  record Endpoint(String ip, int port) {}

  private final String name;
  private final ServerSocket server;
  private volatile List<Endpoint> endpoints = List.of();
  private final AtomicInteger roundRobin = new AtomicInteger();
  private final Set<Link> links = ConcurrentHashMap.newKeySet();
  private volatile boolean closed;

  TcpProxy(String name, String ip, int port) throws IOException {
    this.name = name;
    this.server = new ServerSocket();
    server.setReuseAddress(true);
    server.bind(new InetSocketAddress(InetAddress.getByName(ip), port));
    Thread accept = new Thread(this::acceptLoop, "proxy " + name);
    accept.setDaemon(true);
    accept.start();
  }

  void endpoints(List<Endpoint> current) {
    endpoints = List.copyOf(current);
  }

  List<Endpoint> endpoints() {
    return endpoints;
  }

  /** Ends every open connection to the endpoint at {@code ip} (the pod was cut off the network). */
  void sever(String ip) {
    severOpenedBefore(ip, Long.MAX_VALUE);
  }

  /** As {@link #sever}, only the connections opened before {@code nanoTime} (the address may be reused). */
  void severOpenedBefore(String ip, long nanoTime) {
    links.stream().filter(l -> l.endpoint.ip().equals(ip) && l.openedAt < nanoTime).forEach(Link::close);
  }

  private void acceptLoop() {
    while (!closed) {
      Socket client;
      try {
        client = server.accept();
      } catch (IOException e) {
        if (!closed) {
          LOG.warn("proxy {} stopped accepting: {}", name, e.toString());
        }
        return;
      }
      List<Endpoint> current = endpoints;
      if (current.isEmpty()) {
        closeQuietly(client);
        continue;
      }
      Endpoint target = current.get(Math.floorMod(roundRobin.getAndIncrement(), current.size()));
      Thread connect = new Thread(() -> connect(client, target), "proxy " + name + " -> " + target.ip());
      connect.setDaemon(true);
      connect.start();
    }
  }

  private void connect(Socket client, Endpoint target) {
    Socket upstream = new Socket();
    try {
      // As kube-proxy's DNAT keeps the caller's address: a pod calls from its own address (PodNetwork),
      // and so does the forwarded connection. A caller outside the pods that did not choose its source
      // calls from the Service's address; then the endpoint sees the same as for a direct connection.
      InetAddress caller = client.getInetAddress();
      if (!caller.equals(server.getInetAddress()) && !caller.isLoopbackAddress()) {
        upstream.bind(new InetSocketAddress(caller, 0));
      }
      upstream.connect(new InetSocketAddress(target.ip(), target.port()), 2000);
      upstream.setTcpNoDelay(true);
      client.setTcpNoDelay(true);
    } catch (IOException e) {
      closeQuietly(client);
      closeQuietly(upstream);
      return;
    }
    Link link = new Link(client, upstream, target);
    links.add(link);
    Thread back = new Thread(() -> link.pump(upstream, client), "proxy " + name + " <- " + target.ip());
    back.setDaemon(true);
    back.start();
    link.pump(client, upstream);
  }

  @Override
  public void close() {
    closed = true;
    closeQuietly(server);
    links.forEach(Link::close);
  }

  private final class Link {
    final Socket client;
    final Socket upstream;
    final Endpoint endpoint;
    final long openedAt = System.nanoTime();

    Link(Socket client, Socket upstream, Endpoint endpoint) {
      this.client = client;
      this.upstream = upstream;
      this.endpoint = endpoint;
    }

    void pump(Socket from, Socket to) {
      byte[] buffer = new byte[16384];
      try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
        int n;
        while ((n = in.read(buffer)) >= 0) {
          out.write(buffer, 0, n);
          out.flush();
        }
      } catch (IOException e) {
        // One side went away; the other follows below.
      } finally {
        close();
      }
    }

    void close() {
      closeQuietly(client);
      closeQuietly(upstream);
      links.remove(this);
    }
  }

  private static void closeQuietly(AutoCloseable c) {
    try {
      c.close();
    } catch (Exception e) {
      // Closing is best effort.
    }
  }
}
