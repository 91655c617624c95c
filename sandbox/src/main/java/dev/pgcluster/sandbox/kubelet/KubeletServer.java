package dev.pgcluster.sandbox.kubelet;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.BiFunction;
import javax.net.ssl.SSLContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The part of a kubelet's HTTPS API the API server proxies {@code kubectl logs} to:
 * {@code GET /containerLogs/<namespace>/<pod>/<container>} with {@code tailLines}, {@code limitBytes}
 * and {@code follow}. Exec, attach and port-forward are not served (pods are local processes; connect
 * to their addresses instead). It listens on the node's address, port 10250, with a certificate the
 * cluster CA signed; like a kubelet started with anonymous authentication it asks no client certificate
 * (the sandbox's addresses are reachable from this machine only).
 */
final class KubeletServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(KubeletServer.class);
  static final int PORT = 10250;

  private final HttpsServer server;
  private final ExecutorService threads;
  private final BiFunction<String, String, Optional<Path>> logDirectory;
  private volatile boolean serving = true;

  /** @param logDirectory (namespace, pod) to the directory of that running pod's container logs */
  KubeletServer(String nodeName, String address, SSLContext tls, BiFunction<String, String, Optional<Path>> logDirectory)
      throws IOException {
    this.logDirectory = logDirectory;
    this.server = HttpsServer.create(new InetSocketAddress(address, PORT), 16);
    server.setHttpsConfigurator(new HttpsConfigurator(tls));
    this.threads = Executors.newCachedThreadPool(r -> {
      Thread t = new Thread(r, "kubelet-server " + nodeName);
      t.setDaemon(true);
      return t;
    });
    server.setExecutor(threads);
    server.createContext("/containerLogs/", this::containerLogs);
    server.createContext("/healthz", exchange -> {
      if (serving) {
        reply(exchange, 200, "ok");
      } else {
        exchange.close();  // a lost node answers nothing
      }
    });
    server.createContext("/", exchange -> reply(exchange, 404, "the sandbox's kubelet serves /containerLogs only"));
    server.start();
  }

  /** A lost node answers nothing; its port stays taken so that a later bind does not race. */
  void silence() {
    serving = false;
  }

  private void containerLogs(HttpExchange exchange) throws IOException {
    try (exchange) {
      if (!serving) {
        return;  // closed without an answer, as a node that is gone
      }
      String[] parts = exchange.getRequestURI().getPath().substring("/containerLogs/".length()).split("/");
      if (parts.length != 3) {
        reply(exchange, 400, "expected /containerLogs/<namespace>/<pod>/<container>");
        return;
      }
      Map<String, String> query = query(exchange.getRequestURI().getRawQuery());
      long limit;
      long tailLines;
      try {
        limit = query.containsKey("limitBytes") ? Long.parseLong(query.get("limitBytes")) : Long.MAX_VALUE;
        tailLines = query.containsKey("tailLines") ? Long.parseLong(query.get("tailLines")) : -1;
      } catch (NumberFormatException e) {
        reply(exchange, 400, "limitBytes and tailLines are numbers: " + e.getMessage());
        return;
      }
      if (limit <= 0) {
        reply(exchange, 400, "limitBytes must be positive");
        return;
      }
      Optional<Path> dir = logDirectory.apply(parts[0], parts[1]);
      Path file = dir.map(d -> d.resolve(parts[2] + ".log")).orElse(null);
      if (file == null || !Files.exists(file)) {
        reply(exchange, 404, "container " + parts[2] + " of pod " + parts[0] + "/" + parts[1]
            + " is not running on this node");
        return;
      }
      exchange.getResponseHeaders().set("Content-Type", "text/plain");
      exchange.sendResponseHeaders(200, 0);
      OutputStream out = exchange.getResponseBody();
      long position = start(file, tailLines);
      long sent = 0;
      boolean follow = "true".equals(query.get("follow"));
      byte[] buffer = new byte[8192];
      while (serving) {
        try (RandomAccessFile in = new RandomAccessFile(file.toFile(), "r")) {
          in.seek(position);
          int n;
          while (sent < limit && (n = in.read(buffer, 0, (int) Math.min(buffer.length, limit - sent))) > 0) {
            out.write(buffer, 0, n);
            position += n;
            sent += n;
          }
        }
        out.flush();
        if (!follow || sent >= limit) {
          return;
        }
        try {
          Thread.sleep(250);
        } catch (InterruptedException e) {
          return;
        }
      }
    } catch (IOException e) {
      LOG.debug("log request ended: {}", e.getMessage());  // a follower that went away
    } catch (RuntimeException e) {
      LOG.warn("log request {} failed: {}", exchange.getRequestURI(), e.toString());
    }
  }

  /** Where to start reading for the last {@code lines} lines (-1: everything). */
  static long start(Path file, long lines) throws IOException {
    if (lines < 0) {
      return 0;
    }
    if (lines == 0) {
      return Files.size(file);
    }
    Deque<Long> starts = new ArrayDeque<>();
    long offset = 0;
    starts.add(0L);
    try (InputStream in = Files.newInputStream(file)) {
      byte[] buffer = new byte[8192];
      int n;
      while ((n = in.read(buffer)) > 0) {
        for (int i = 0; i < n; i++) {
          if (buffer[i] == '\n') {
            starts.addLast(offset + i + 1);
            if (starts.size() - 1L > lines) {  // not lines + 1: no overflow for a huge tailLines
              starts.removeFirst();
            }
          }
        }
        offset += n;
      }
    }
    // The last start is the end of the file when it ends with a newline: not a line of its own.
    List<Long> list = List.copyOf(starts);
    if (list.get(list.size() - 1) == offset && list.size() > lines) {
      return list.get((int) (list.size() - 1 - lines));
    }
    return list.get((int) Math.max(0, list.size() - lines));
  }

  private static Map<String, String> query(String raw) {
    Map<String, String> query = new HashMap<>();
    if (raw != null) {
      for (String pair : raw.split("&")) {
        int eq = pair.indexOf('=');
        String key = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
        query.put(key, eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
      }
    }
    return query;
  }

  private static void reply(HttpExchange exchange, int code, String text) throws IOException {
    byte[] body = (text + "\n").getBytes(StandardCharsets.UTF_8);
    exchange.sendResponseHeaders(code, body.length);
    exchange.getResponseBody().write(body);
    exchange.close();
  }

  @Override
  public void close() {
    serving = false;
    server.stop(0);
    threads.shutdownNow();
  }
}
