package dev.pgcluster.operator.http;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.function.BooleanSupplier;

/**
 * /healthz (alive: see {@link Liveness}), /readyz (the operator has started; a standby replica waiting for
 * the leader Lease is ready too, so rollouts are not blocked), /metrics (Prometheus text format).
 */
public final class HttpEndpoints implements AutoCloseable {
  private final HttpServer server;

  /** Listens on {@code address}:{@code port}; an empty address means every interface. */
  public HttpEndpoints(String address, int port, PrometheusMeterRegistry registry, BooleanSupplier started,
      Liveness liveness) throws IOException {
    server = HttpServer.create(address.isEmpty() ? new InetSocketAddress(port) : new InetSocketAddress(address, port), 0);
    server.createContext("/healthz", ex -> {
      Liveness.Verdict verdict = liveness.check();
      respond(ex, verdict.alive() ? 200 : 503, verdict.reason() + "\n", "text/plain");
    });
    server.createContext("/readyz", ex -> {
      boolean ok = started.getAsBoolean();
      respond(ex, ok ? 200 : 503, ok ? "ready\n" : "starting\n", "text/plain");
    });
    server.createContext("/metrics", ex -> respond(ex, 200, registry.scrape(), "text/plain; version=0.0.4"));
    server.start();
  }

  public int port() {
    return server.getAddress().getPort();
  }

  private static void respond(HttpExchange exchange, int code, String body, String contentType) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", contentType);
    exchange.sendResponseHeaders(code, bytes.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(bytes);
    }
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
