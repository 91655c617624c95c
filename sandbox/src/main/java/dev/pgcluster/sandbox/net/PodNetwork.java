package dev.pgcluster.sandbox.net;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The pods' network at the IP level, so that faults look on the wire as they do on a real cluster:
 * packets dropped, no connection refused, no reset.
 *
 * <p>Every address of the sandbox is local to this machine ({@link LocalRoutes}), and a connection to a
 * local address leaves with that same address as its source, so the source says nothing about who is
 * calling. Two things give it back, as pod networking does on a node:
 * <ul>
 *   <li>every process of a pod runs in a cgroup (v2) of its own, under its node's, and its connections to
 *       the sandbox network leave with the pod's address as source (iptables SNAT matched on that
 *       cgroup), as a pod's packets carry its pod IP;
 *   <li>the Service proxies connect to the endpoint from the caller's address ({@link TcpProxy}), as
 *       kube-proxy's DNAT keeps the source.
 * </ul>
 * Then a connection's reply tuple names both ends, and a cut is a few DROP rules on it (in INPUT,
 * where both directions of a loopback connection pass). Connections opened by anything outside the pods
 * (test clients, the Service proxies' own callers, the kubelet) are marked as coming from outside.
 *
 * <p>Each sandbox marks only the connections to its own pod addresses, and removes, when it opens, the
 * chains and cgroups of a sandbox whose process is gone (killed before it could close): rules are the
 * kernel's and outlive the process, and a stale mark rule would make every other sandbox's pods look
 * like clients from outside (a cut from clients would then cut a pod off from itself).
 *
 * <p>A node's cgroup also freezes and kills all its processes at one instant ({@code cgroup.freeze},
 * {@code cgroup.kill}): a lost node stops at once rather than process by process.
 *
 * <p>Needs root, a cgroup v2 hierarchy and iptables ({@code apt-get install iptables}); without them the
 * sandbox runs with faults at the process level only, and asking for a cut says so.
 */
public final class PodNetwork implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(PodNetwork.class);
  /** The connmark bit of connections opened from outside the pods. */
  private static final String OUTSIDE = "0x100000/0x100000";
  /** Every sandbox's cgroup and chains are named {@code pgcsb-<pid of its process>-<tag>}. */
  private static final String NAME_PREFIX = "pgcsb-";
  private static final java.util.regex.Pattern SANDBOX_CHAIN =
      java.util.regex.Pattern.compile("PGCSB-(\\d+)-[A-Za-z0-9]+-[A-Z0-9]+");

  /** Who a pod is cut off from. */
  public sealed interface Peer {
    /** The API server, directly or through the {@code kubernetes} Service. */
    record ApiServer(String ip) implements Peer {}

    /** Everything outside the pods: test and application clients, kubelet probes over the network. */
    record Clients() implements Peer {}

    /** Another pod, in both directions, whoever opens the connection (directly or through a Service). */
    record Pod(String ip) implements Peer {}

    /** All of the above and every other pod; the pod still reaches itself. */
    record Everything() implements Peer {}
  }

  /** One cut in place until {@link #heal}. */
  public record Cut(String chain, String ip, List<Peer> peers) {}

  private final String iptables;
  private final Path cgroupRoot;      // absolute directory of this sandbox's cgroup
  private final String cgroupPath;    // the same, relative to the cgroup v2 mount (what iptables matches)
  private final String chainPrefix;
  private final Map<String, String> snatRules = new ConcurrentHashMap<>();  // pod cgroup -> pod ip
  private final Map<String, Cut> cuts = new ConcurrentHashMap<>();
  private final AtomicInteger cutSequence = new AtomicInteger();
  private final String unavailable;

  private PodNetwork(String iptables, Path cgroupRoot, String cgroupPath, String chainPrefix, String unavailable) {
    this.iptables = iptables;
    this.cgroupRoot = cgroupRoot;
    this.cgroupPath = cgroupPath;
    this.chainPrefix = chainPrefix;
    this.unavailable = unavailable;
  }

  /**
   * Sets up this sandbox's cgroup and chains, or returns an unavailable network saying why.
   *
   * @param tag short and unique in this process (with the pid it names the cgroup and the iptables chains)
   * @param podCidr this sandbox's pod addresses (only connections to them are marked)
   */
  public static PodNetwork open(String tag, String podCidr) {
    String name = NAME_PREFIX + ProcessHandle.current().pid() + "-" + tag;
    String why = null;
    Optional<Path> mount = cgroup2Mount();
    String iptables = Files.isExecutable(Path.of("/usr/sbin/iptables-legacy")) ? "/usr/sbin/iptables-legacy"
        : Files.isExecutable(Path.of("/usr/sbin/iptables")) ? "/usr/sbin/iptables" : null;
    if (!"root".equals(System.getProperty("user.name"))) {
      why = "the sandbox does not run as root";
    } else if (mount.isEmpty()) {
      why = "no cgroup v2 hierarchy is mounted";
    } else if (iptables == null) {
      why = "iptables is not installed (apt-get install iptables)";
    }
    if (why != null) {
      LOG.info("pod network faults unavailable: {}", why);
      return new PodNetwork(null, null, null, null, why);
    }
    String chainPrefix = name.toUpperCase(java.util.Locale.ROOT);
    PodNetwork net = new PodNetwork(iptables, mount.get().resolve(name), name, chainPrefix, null);
    try {
      net.removeLeftoversOfGoneSandboxes(mount.get());
      Files.createDirectories(net.cgroupRoot);
      net.chain("mangle", "OUTPUT", "MARK");
      net.chain("nat", "POSTROUTING", "SNAT");
      net.chain("filter", "INPUT", "CUT");
      // Anything not in a pod that opens a connection is "outside" (a client).
      net.iptables("-t", "mangle", "-A", chainPrefix + "-MARK", "-d", podCidr, "-m", "conntrack", "--ctstate",
          "NEW", "-m", "cgroup", "!", "--path", name, "-j", "CONNMARK", "--set-xmark", OUTSIDE);
    } catch (IOException | IllegalStateException e) {
      LOG.warn("pod network faults unavailable: {}", e.getMessage());
      net.close();
      return new PodNetwork(null, null, null, null, e.getMessage());
    }
    return net;
  }

  /**
   * Deletes the chains (with their hooks) and the cgroups (killing what still runs there) of every
   * sandbox whose process no longer exists.
   */
  private void removeLeftoversOfGoneSandboxes(Path mount) {
    java.util.Set<Long> gone = new java.util.TreeSet<>();
    for (String table : List.of("mangle", "nat", "filter")) {
      String rules = rules(table);
      if (rules == null) {
        continue;  // the next sandbox tries again
      }
      List<String> chains = new ArrayList<>();
      for (String line : rules.lines().toList()) {
        String[] f = line.split(" ");
        java.util.regex.Matcher m = f.length >= 2 ? SANDBOX_CHAIN.matcher(f[f.length - 1]) : null;
        if (m == null || !m.matches() || ProcessHandle.of(Long.parseLong(m.group(1))).isPresent()) {
          continue;
        }
        gone.add(Long.parseLong(m.group(1)));
        if (f[0].equals("-N")) {
          chains.add(f[1]);
        } else if (f[0].equals("-A") && f.length == 4 && f[2].equals("-j") && !f[1].startsWith("PGCSB-")) {
          iptablesQuietly("-t", table, "-D", f[1], "-j", f[3]);
        }
      }
      chains.forEach(c -> iptablesQuietly("-t", table, "-F", c));
      chains.forEach(c -> iptablesQuietly("-t", table, "-X", c));
    }
    try (var dirs = Files.list(mount)) {
      for (Path dir : dirs.filter(Files::isDirectory).toList()) {
        String[] f = dir.getFileName().toString().split("-");
        if (f.length == 3 && (f[0] + "-").equals(NAME_PREFIX) && f[1].matches("\\d+")
            && ProcessHandle.of(Long.parseLong(f[1])).isEmpty()) {
          gone.add(Long.parseLong(f[1]));
          if (Files.exists(dir.resolve("cgroup.kill"))) {
            Files.writeString(dir.resolve("cgroup.kill"), "1");
          }
          removeCgroups(dir);
        }
      }
    } catch (IOException e) {
      LOG.warn("cannot list the cgroups of earlier sandboxes in {}: {}", mount, e.toString());
    }
    if (!gone.isEmpty()) {
      LOG.info("removed the iptables chains and cgroups of sandboxes whose process is gone: {}", gone);
    }
  }

  public boolean available() {
    return unavailable == null;
  }

  /**
   * The command prefix that starts a process in the pod's cgroup: a shell that moves itself there and
   * then execs (so that not one socket is opened outside it). Creates the cgroup on first use.
   */
  public List<String> launchPrefix(String node, String pod) {
    if (!available()) {
      return List.of();
    }
    Path dir = cgroupRoot.resolve(node).resolve(pod);
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException("cannot create the cgroup " + dir, e);
    }
    return List.of("/bin/sh", "-c", "echo $$ > \"$0/cgroup.procs\" && exec \"$@\"", dir.toString());
  }

  /** The pod's connections to the sandbox network leave from its own address. */
  public void attach(String node, String pod, String ip) {
    if (!available()) {
      return;
    }
    launchPrefix(node, pod);
    String path = cgroupPath + "/" + node + "/" + pod;
    iptables("-t", "nat", "-A", chainPrefix + "-SNAT", "-m", "cgroup", "--path", path, "-d", LocalRoutes.RANGE,
        "-j", "SNAT", "--to-source", ip);
    snatRules.put(path, ip);
  }

  /** The pod is gone: its rule and its (empty) cgroup go too. */
  public void detach(String node, String pod) {
    if (!available()) {
      return;
    }
    String path = cgroupPath + "/" + node + "/" + pod;
    String ip = snatRules.remove(path);
    if (ip != null) {
      iptablesQuietly("-t", "nat", "-D", chainPrefix + "-SNAT", "-m", "cgroup", "--path", path, "-d",
          LocalRoutes.RANGE, "-j", "SNAT", "--to-source", ip);
    }
    Path dir = cgroupRoot.resolve(node).resolve(pod);
    // Whatever still runs in it goes with the pod, as with a container runtime: a daemon that left its
    // container's process group (pgBackRest's asynchronous archive-push does) would outlive it.
    try {
      if (Files.exists(dir.resolve("cgroup.kill"))) {
        Files.writeString(dir.resolve("cgroup.kill"), "1");
        for (int i = 0; i < 50 && !Files.readString(dir.resolve("cgroup.procs")).isBlank(); i++) {
          Thread.sleep(20);
        }
      }
      Files.deleteIfExists(dir);
    } catch (IOException e) {
      LOG.debug("cgroup of {} not removed: {}", pod, e.toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Drops every packet between the pod at {@code ip} and its peers, both ways, until {@link #heal}. */
  public Cut cut(String ip, List<Peer> peers) {
    if (!available()) {
      throw new IllegalStateException("the sandbox cannot cut pods off the network: " + unavailable);
    }
    String chain = chainPrefix + "-C" + cutSequence.incrementAndGet();
    iptables("-t", "filter", "-N", chain);
    for (Peer peer : peers) {
      for (List<String> rule : rules(ip, peer)) {
        List<String> args = new ArrayList<>(List.of("-t", "filter", "-A", chain));
        args.addAll(rule);
        iptables(args.toArray(String[]::new));
      }
    }
    iptables("-t", "filter", "-A", chainPrefix + "-CUT", "-j", chain);
    Cut cut = new Cut(chain, ip, List.copyOf(peers));
    cuts.put(chain, cut);
    LOG.info("network: {} cut off from {}", ip, peers);
    return cut;
  }

  public void heal(Cut cut) {
    if (cuts.remove(cut.chain()) == null) {
      return;
    }
    iptablesQuietly("-t", "filter", "-D", chainPrefix + "-CUT", "-j", cut.chain());
    iptablesQuietly("-t", "filter", "-F", cut.chain());
    iptablesQuietly("-t", "filter", "-X", cut.chain());
    LOG.info("network: {} reconnected to {}", cut.ip(), cut.peers());
  }

  /** Every process of the node stops at one instant (SIGSTOP-like, but all at once). */
  public boolean freezeNode(String node) {
    return writeNode(node, "cgroup.freeze", "1");
  }

  /** Every process of the node gets SIGKILL at one instant; the node's cgroup is thawed for new pods. */
  public boolean killNode(String node) {
    boolean killed = writeNode(node, "cgroup.kill", "1");
    writeNode(node, "cgroup.freeze", "0");
    return killed;
  }

  private boolean writeNode(String node, String file, String value) {
    if (!available() || !Files.isDirectory(cgroupRoot.resolve(node))) {
      return false;
    }
    try {
      Files.writeString(cgroupRoot.resolve(node).resolve(file), value);
      return true;
    } catch (IOException e) {
      LOG.warn("cannot write {} of node {}: {}", file, node, e.toString());
      return false;
    }
  }

  /** Rules (each a DROP or, first, a RETURN) on the connections between {@code ip} and the peer. */
  private List<List<String>> rules(String ip, Peer peer) {
    // The peer answers (reply source) the pod (reply destination: the pod's own address after SNAT or
    // the proxy's bind), or the other way round.
    if (peer instanceof Peer.Pod other) {
      return List.of(drop("--ctreplsrc", other.ip(), "--ctrepldst", ip), drop("--ctreplsrc", ip, "--ctrepldst",
          other.ip()));
    } else if (peer instanceof Peer.ApiServer api) {
      return List.of(drop("--ctreplsrc", api.ip(), "--ctrepldst", ip));
    } else if (peer instanceof Peer.Clients) {
      // A client outside the pods that did not choose its source leaves from the address it calls.
      return List.of(List.of("-m", "connmark", "--mark", OUTSIDE, "-m", "conntrack", "--ctreplsrc", ip,
          "--ctrepldst", ip, "-j", "DROP"));
    }
    // Everything: the pod's connections to itself stay.
    return List.of(List.of("-m", "connmark", "!", "--mark", OUTSIDE, "-m", "conntrack", "--ctreplsrc", ip,
        "--ctrepldst", ip, "-j", "RETURN"), drop("--ctreplsrc", ip), drop("--ctrepldst", ip));
  }

  private static List<String> drop(String... conntrack) {
    List<String> rule = new ArrayList<>(List.of("-m", "conntrack"));
    rule.addAll(List.of(conntrack));
    rule.addAll(List.of("-j", "DROP"));
    return rule;
  }

  private void chain(String table, String hook, String suffix) {
    String chain = chainPrefix + "-" + suffix;
    iptablesQuietly("-t", table, "-D", hook, "-j", chain);
    iptablesQuietly("-t", table, "-F", chain);
    iptablesQuietly("-t", table, "-X", chain);
    iptables("-t", table, "-N", chain);
    iptables("-t", table, "-I", hook, "-j", chain);
  }

  @Override
  public void close() {
    if (iptables == null) {
      return;
    }
    new ArrayList<>(cuts.values()).forEach(this::heal);
    for (String[] c : List.of(new String[] {"mangle", "OUTPUT", "MARK"}, new String[] {"nat", "POSTROUTING", "SNAT"},
        new String[] {"filter", "INPUT", "CUT"})) {
      iptablesQuietly("-t", c[0], "-D", c[1], "-j", chainPrefix + "-" + c[2]);
      iptablesQuietly("-t", c[0], "-F", chainPrefix + "-" + c[2]);
      iptablesQuietly("-t", c[0], "-X", chainPrefix + "-" + c[2]);
    }
    snatRules.clear();
    removeCgroups(cgroupRoot);
  }

  /** Depth first: a cgroup directory is removed with rmdir once its children and processes are gone. */
  private static void removeCgroups(Path dir) {
    if (dir == null || !Files.isDirectory(dir)) {
      return;
    }
    try (var children = Files.list(dir)) {
      children.filter(Files::isDirectory).forEach(PodNetwork::removeCgroups);
    } catch (IOException e) {
      return;
    }
    try {
      Files.writeString(dir.resolve("cgroup.freeze"), "0");
    } catch (IOException ignored) {
      // the root of a hierarchy has no freeze file
    }
    try {
      Files.delete(dir);
    } catch (IOException e) {
      LOG.debug("cgroup {} not removed: {}", dir, e.toString());
    }
  }

  private void iptables(String... args) {
    String out = run(args);
    if (out != null) {
      throw new IllegalStateException("iptables " + String.join(" ", args) + " failed: " + out.trim());
    }
  }

  private void iptablesQuietly(String... args) {
    run(args);
  }

  /** The table's rules as {@code iptables -S} prints them, null when it fails. */
  private String rules(String table) {
    Ran ran = execute("-t", table, "-S");
    return ran.ok() ? ran.output() : null;
  }

  /** Null on success, the output otherwise. */
  private String run(String... args) {
    Ran ran = execute(args);
    return ran.ok() ? null : ran.output();
  }

  private record Ran(boolean ok, String output) {}

  /** -w: wait for the xtables lock another sandbox may hold. */
  private Ran execute(String... args) {
    List<String> command = new ArrayList<>(List.of(iptables, "-w", "5"));
    command.addAll(List.of(args));
    try {
      Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(15, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return new Ran(false, "timed out");
      }
      return new Ran(p.exitValue() == 0, out);
    } catch (IOException e) {
      return new Ran(false, e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new Ran(false, "interrupted");
    }
  }

  private static Optional<Path> cgroup2Mount() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/mounts"))) {
        String[] f = line.split(" ");
        if (f.length > 2 && "cgroup2".equals(f[2]) && Files.isWritable(Path.of(f[1]))) {
          return Optional.of(Path.of(f[1]));
        }
      }
    } catch (IOException e) {
      return Optional.empty();
    }
    return Optional.empty();
  }
}
