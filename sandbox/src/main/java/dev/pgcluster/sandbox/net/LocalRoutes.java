package dev.pgcluster.sandbox.net;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * The sandbox network: 198.18.0.0/15 (RFC 2544, reserved for benchmarking, never routed on the
 * internet) made local to this machine with one {@code ip route add local ... dev lo}, so any address in
 * it can be bound and reached here. Pods, nodes and the API server take addresses in 198.18.0.0/16,
 * Services cluster IPs in 198.19.0.0/16. Loopback (127/8) would need no route, but Kubernetes refuses
 * loopback addresses in EndpointSlices, which the Service proxies follow.
 */
public final class LocalRoutes {
  public static final String RANGE = "198.18.0.0/15";

  private LocalRoutes() {}

  /** Adds the route when missing; needs root (or CAP_NET_ADMIN) only the first time on a machine. */
  public static synchronized void ensure() {
    if (!run("ip", "route", "show", "table", "local", RANGE).isBlank()) {
      return;
    }
    String out = run("ip", "route", "add", "local", RANGE, "dev", "lo");
    if (run("ip", "route", "show", "table", "local", RANGE).isBlank()) {
      throw new IllegalStateException("the sandbox network needs the route 'local " + RANGE + " dev lo' and could "
          + "not add it (" + out.trim() + "): run once as root: ip route add local " + RANGE + " dev lo");
    }
  }

  private static String run(String... command) {
    try {
      Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      p.waitFor(10, TimeUnit.SECONDS);
      return out;
    } catch (IOException e) {
      throw new IllegalStateException("cannot run " + String.join(" ", command) + " (iproute2 missing?): "
          + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "";
    }
  }
}
