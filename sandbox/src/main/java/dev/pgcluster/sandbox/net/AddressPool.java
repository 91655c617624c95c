package dev.pgcluster.sandbox.net;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;

/**
 * Loopback addresses handed out to pods and Services: Linux routes all of 127.0.0.0/8 to the loopback
 * interface, so each pod gets an address of its own and every pod can listen on port 5432.
 * Addresses are never reused within one sandbox, as pod IPs change on recreation in Kubernetes too.
 */
public final class AddressPool {
  private final int second;
  private int next = 1;

  /** Addresses 127.{second}.x.y; different sandboxes (or tests) pick different blocks. */
  public AddressPool(int second) {
    if (second < 1 || second > 254) {
      throw new IllegalArgumentException("address block must be 1..254, not " + second);
    }
    this.second = second;
  }

  /** The next address on which {@code port} can be bound (something else may be using some). */
  public synchronized String allocate(int port) {
    while (next < 254 * 254) {
      int n = next++;
      String ip = "127." + second + "." + (n / 254) + "." + (n % 254 + 1);
      if (bindable(ip, port)) {
        return ip;
      }
    }
    throw new IllegalStateException("address block 127." + second + ".0.0/16 is exhausted");
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
