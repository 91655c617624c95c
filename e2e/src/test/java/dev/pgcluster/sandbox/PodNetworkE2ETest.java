package dev.pgcluster.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgcluster.sandbox.net.AddressPool;
import dev.pgcluster.sandbox.net.LocalRoutes;
import dev.pgcluster.sandbox.net.PodNetwork;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The pod network's rules on the real kernel: a sandbox is not disturbed by another one on the machine,
 * alive or killed before it could close (the kernel keeps its rules), which CI on a reused machine meets.
 */
class PodNetworkE2ETest {
  static final String IPTABLES = "/usr/sbin/iptables-legacy";

  /**
   * A cut from clients drops a client's connection to the pod and keeps the pod's own, while another
   * sandbox marks the connections it sees: before its marks were scoped to its own pod addresses, the
   * pod's connection to itself looked like a client's there and was dropped too.
   */
  @Test
  void aCutFromClientsKeepsThePodsOwnConnectionsWithAnotherSandboxOpen() throws Exception {
    LocalRoutes.ensure();
    AddressPool mine = new AddressPool("198.18", 248);
    AddressPool theirs = new AddressPool("198.18", 244);
    try (PodNetwork net = PodNetwork.open("t248", mine.cidr());
        PodNetwork other = PodNetwork.open("t244", theirs.cidr())) {
      assertTrue(net.available() && other.available(), "this test needs root, cgroup v2 and iptables");
      String ip = mine.allocate(7001);
      net.attach("node-a", "1-pod", ip);
      try (ServerSocket listener = new ServerSocket()) {
        listener.bind(new InetSocketAddress(ip, 7001));
        assertTrue(podConnects(net, ip), "before the cut, the pod reaches its own address");
        assertTrue(clientConnects(ip), "before the cut, a client reaches the pod");
        PodNetwork.Cut cut = net.cut(ip, List.of(new PodNetwork.Peer.Clients()));
        try {
          assertFalse(clientConnects(ip), "a client's connection is dropped by the cut");
          assertTrue(podConnects(net, ip), "the pod still reaches its own address (its agent talks to its"
              + " PostgreSQL there)");
        } finally {
          net.heal(cut);
        }
        assertTrue(clientConnects(ip), "after the heal, a client reaches the pod again");
      } finally {
        net.detach("node-a", "1-pod");
      }
    }
  }

  /** The chains and cgroup of a sandbox whose process was killed are gone once the next one opens. */
  @Test
  void theLeftoversOfAKilledSandboxAreRemovedByTheNext() throws Exception {
    LocalRoutes.ensure();
    long gonePid = goneProcessId();
    String chain = "PGCSB-" + gonePid + "-240-MARK";
    iptables("-t", "mangle", "-N", chain);
    iptables("-t", "mangle", "-A", chain, "-m", "conntrack", "--ctstate", "NEW", "-j", "CONNMARK", "--set-xmark",
        "0x100000/0x100000");
    iptables("-t", "mangle", "-I", "OUTPUT", "-j", chain);
    Path cgroup = cgroup2Mount().resolve("pgcsb-" + gonePid + "-240");
    Files.createDirectories(cgroup.resolve("sandbox-1").resolve("3-db-0"));

    try (PodNetwork net = PodNetwork.open("t236", new AddressPool("198.18", 236).cidr())) {
      assertTrue(net.available(), "this test needs root, cgroup v2 and iptables");
      String mangle = iptables("-t", "mangle", "-S");
      assertFalse(mangle.contains(chain), "the killed sandbox's chain and its hook are gone:\n" + mangle);
      assertFalse(Files.exists(cgroup), "the killed sandbox's cgroup is gone");
      assertTrue(mangle.contains("PGCSB-" + ProcessHandle.current().pid() + "-T236-MARK"), "this one's chain is"
          + " in place");
    } finally {
      if (iptables("-t", "mangle", "-S").contains(chain)) {
        iptablesQuietly("-t", "mangle", "-D", "OUTPUT", "-j", chain);
        iptablesQuietly("-t", "mangle", "-F", chain);
        iptablesQuietly("-t", "mangle", "-X", chain);
      }
    }
  }

  /** Runs a process in the pod's cgroup that opens a TCP connection to {@code ip}:7001 within 3 s. */
  private static boolean podConnects(PodNetwork net, String ip) throws Exception {
    List<String> command = new ArrayList<>(net.launchPrefix("node-a", "1-pod"));
    command.addAll(List.of("timeout", "3", "bash", "-c", "exec 3<>/dev/tcp/" + ip + "/7001"));
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    assertTrue(p.waitFor(10, TimeUnit.SECONDS), "the pod's connection attempt ends");
    return p.exitValue() == 0;
  }

  /** This JVM is outside the pods: a client. */
  private static boolean clientConnects(String ip) {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(ip, 7001), 3000);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private static long goneProcessId() throws Exception {
    Process p = new ProcessBuilder("true").start();
    p.waitFor();
    assertFalse(ProcessHandle.of(p.pid()).isPresent(), "the process has ended");
    return p.pid();
  }

  private static Path cgroup2Mount() throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/self/mounts"))) {
      String[] f = line.split(" ");
      if (f.length > 2 && "cgroup2".equals(f[2])) {
        return Path.of(f[1]);
      }
    }
    throw new IllegalStateException("no cgroup v2 hierarchy");
  }

  private static String iptables(String... args) throws Exception {
    List<String> command = new ArrayList<>(List.of(IPTABLES, "-w", "5"));
    command.addAll(List.of(args));
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(15, TimeUnit.SECONDS));
    assertEquals(0, p.exitValue(), "iptables " + String.join(" ", args) + ": " + out);
    return out;
  }

  private static void iptablesQuietly(String... args) throws Exception {
    List<String> command = new ArrayList<>(List.of(IPTABLES, "-w", "5"));
    command.addAll(List.of(args));
    new ProcessBuilder(command).redirectErrorStream(true).start().waitFor(15, TimeUnit.SECONDS);
  }
}
