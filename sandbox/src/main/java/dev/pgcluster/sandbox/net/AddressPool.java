package dev.pgcluster.sandbox.net;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;

/**
 * Addresses handed out to the API server, nodes and pods from a /22 of the sandbox network
 * ({@link LocalRoutes}: every address there is local to this machine), so each pod gets an address of
 * its own and every pod can listen on port 5432. Addresses are never reused within one sandbox, as pod
 * IPs change on recreation in Kubernetes too.
 */
public final class AddressPool {
  private final String prefix;
  private final int firstThird;
  private int next = 1;

  /** Addresses {@code prefix}.{firstThird..firstThird+3}.x, e.g. 198.18.8.1 .. 198.18.11.254. */
  public AddressPool(String prefix, int firstThird) {
    this.prefix = prefix;
    this.firstThird = firstThird;
  }

  /** The whole block, e.g. 198.18.8.0/22. */
  public String cidr() {
    return prefix + "." + firstThird + ".0/22";
  }

  /** The next address on which {@code port} can be bound (something else may be using some). */
  public synchronized String allocate(int port) {
    while (next < 4 * 254) {
      int n = next++;
      String ip = prefix + "." + (firstThird + (n - 1) / 254) + "." + ((n - 1) % 254 + 1);
      if (bindable(ip, port)) {
        return ip;
      }
    }
    throw new IllegalStateException("address block " + cidr() + " is exhausted");
  }

  private static boolean bindable(String ip, int port) {
    try (ServerSocket probe = new ServerSocket()) {
      probe.bind(new InetSocketAddress(InetAddress.getByName(ip), port));
      return true;
    } catch (IOException e) {
      return false;
    }
  }
}
