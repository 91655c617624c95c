package dev.pgcluster.sandbox;

import dev.pgcluster.operator.PgClusterOperator;
import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.operator.config.OperatorConfig;
import dev.pgcluster.sandbox.api.SandboxApiServer;
import dev.pgcluster.sandbox.controller.GarbageCollector;
import dev.pgcluster.sandbox.controller.StatefulSetController;
import dev.pgcluster.sandbox.kubelet.Kubelet;
import dev.pgcluster.sandbox.net.AddressPool;
import dev.pgcluster.sandbox.net.ServiceNetwork;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A Kubernetes stand-in on one machine: the embedded API server, a StatefulSet controller, a garbage
 * collector, one kubelet running pods as local processes, and the Service network. The operator runs
 * against it unmodified, as it would against any cluster. Everything stops with {@link #close()}.
 */
public final class Sandbox implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Sandbox.class);
  private static final AtomicInteger BLOCKS = new AtomicInteger();

  private final Path root;
  private final boolean keepRoot;
  private final SandboxApiServer api;
  private final KubernetesClient client;
  private final ServiceNetwork network;
  private final Kubelet kubelet;
  private final StatefulSetController statefulSets;
  private final GarbageCollector garbageCollector;
  private final Thread loop;
  private final List<PgClusterOperator> operators = new ArrayList<>();
  private volatile boolean closed;

  private Sandbox(Path root, boolean keepRoot) throws IOException {
    this.root = root;
    this.keepRoot = keepRoot;
    // Each sandbox takes its own 127.x block so that sandboxes in one run never meet on an address.
    int block = 100 + Math.floorMod((int) ProcessHandle.current().pid() * 7 + BLOCKS.getAndIncrement(), 100);
    AddressPool addresses = new AddressPool(block);
    this.api = new SandboxApiServer(root.resolve("kubeconfig"));
    this.client = api.newClient();
    this.network = new ServiceNetwork(addresses, root.resolve("dns"));
    this.kubelet = new Kubelet(client, addresses, network, root, api::takeDeletionGrace);
    this.statefulSets = new StatefulSetController(client, kubelet::hasPod);
    this.garbageCollector = new GarbageCollector(client);
    this.loop = new Thread(this::controlLoop, "sandbox control loop");
    this.loop.setDaemon(true);
    this.loop.start();
    LOG.info("sandbox up: API {} kubeconfig {} addresses 127.{}.x.y, data in {}", api.url(), api.kubeconfig(),
        block, root);
  }

  /**
   * A sandbox in a new directory under /tmp, removed on close unless {@code -Dpgcluster.sandbox.keep=true}
   * (then logs and volumes stay for a post-mortem).
   */
  public static Sandbox start() throws IOException {
    // Short, because unix socket paths of pods live below it; readable by the unprivileged pod user.
    Path root = Path.of("/tmp", "pgcsb-" + ProcessHandle.current().pid() + "-" + BLOCKS.get());
    for (int i = 0; Files.exists(root); i++) {
      root = Path.of("/tmp", "pgcsb-" + ProcessHandle.current().pid() + "-" + BLOCKS.get() + "-" + i);
    }
    Files.createDirectories(root,
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
    return new Sandbox(root, Boolean.getBoolean("pgcluster.sandbox.keep"));
  }

  /** A sandbox in {@code root} (kept on close: logs and volumes stay for a look). */
  public static Sandbox start(Path root) throws IOException {
    root = root.toAbsolutePath();
    Files.createDirectories(root);
    if ("root".equals(System.getProperty("user.name"))) {
      // Pod processes run as the postgres user: every directory above the sandbox must let it through.
      for (Path p = root; p != null; p = p.getParent()) {
        if (!Files.getPosixFilePermissions(p).contains(java.nio.file.attribute.PosixFilePermission.OTHERS_EXECUTE)) {
          throw new IllegalArgumentException(p + " is not searchable by other users (mode "
              + PosixFilePermissions.toString(Files.getPosixFilePermissions(p)) + "); pod processes run as the"
              + " postgres user and could not reach " + root + ": choose another directory");
        }
      }
    }
    return new Sandbox(root, true);
  }

  public KubernetesClient client() {
    return client;
  }

  public Path kubeconfig() {
    return api.kubeconfig();
  }

  public Path root() {
    return root;
  }

  public String apiUrl() {
    return api.url();
  }

  /** The operator, in this JVM, with its own client from the kubeconfig, as a Deployment replica would run. */
  public PgClusterOperator startOperator(String identity) throws IOException {
    OperatorConfig config = OperatorConfig.fromEnv(Map.of(
        "PGC_HTTP_PORT", "0",
        "PGC_LEASE_NAMESPACE", "default",
        "POD_NAME", identity,
        "PGC_STATUS_REFRESH_SECONDS", "2"));
    PgClusterOperator operator = PgClusterOperator.start(api.newClient(), config, false);
    synchronized (operators) {
      operators.add(operator);
    }
    return operator;
  }

  public void stopOperator(PgClusterOperator operator) {
    operator.close();
    synchronized (operators) {
      operators.remove(operator);
    }
  }

  /** Creates the resource in the manifest (YAML or JSON) in {@code namespace}. */
  public PgCluster apply(String namespace, String manifest) {
    PgCluster cluster = io.fabric8.kubernetes.client.utils.Serialization.unmarshal(manifest, PgCluster.class);
    cluster.getMetadata().setNamespace(namespace);
    return client.resources(PgCluster.class).inNamespace(namespace).resource(cluster).create();
  }

  /**
   * Changes a PgCluster as {@code kubectl edit} does: read, change, write with the read resourceVersion,
   * and start over when the operator wrote the status in between (409 Conflict).
   */
  public PgCluster editCluster(String namespace, String name, java.util.function.UnaryOperator<PgCluster> change) {
    for (int attempt = 1; ; attempt++) {
      try {
        return client.resources(PgCluster.class).inNamespace(namespace).withName(name).edit(change);
      } catch (io.fabric8.kubernetes.client.KubernetesClientException e) {
        if (e.getCode() != 409 || attempt == 10) {
          throw e;
        }
      }
    }
  }

  /** The address of a Service on the sandbox network (its "cluster IP"). */
  public String serviceAddress(String namespace, String service) {
    return network.serviceAddress(namespace, service);
  }

  public String podIp(String namespace, String pod) {
    return kubelet.pod(namespace, pod).map(Kubelet.PodRunnerView::ip)
        .orElseThrow(() -> new IllegalArgumentException("no pod " + namespace + "/" + pod + " runs"));
  }

  public Path podLogs(String namespace, String pod) {
    return kubelet.pod(namespace, pod).map(Kubelet.PodRunnerView::logDirectory)
        .orElseThrow(() -> new IllegalArgumentException("no pod " + namespace + "/" + pod + " runs"));
  }

  /** The pid of a container's main process, or null when it does not run. */
  public Long kubeletPid(String namespace, String pod, String container) {
    return runner(namespace, pod).mainPid(container);
  }

  // Faults on demand.

  /** SIGKILL to every process of a container (the kubelet restarts it with back-off). */
  public void killContainer(String namespace, String pod, String container) {
    runner(namespace, pod).signal(container, "KILL");
  }

  /** SIGSTOP to every process of a container: alive but frozen, until {@link #thawContainer}. */
  public void freezeContainer(String namespace, String pod, String container) {
    runner(namespace, pod).signal(container, "STOP");
  }

  public void thawContainer(String namespace, String pod, String container) {
    runner(namespace, pod).signal(container, "CONT");
  }

  /** SIGCONT if the pod still runs here (it may have been deleted and stopped meanwhile). */
  public void thawContainerIfRunning(String namespace, String pod, String container) {
    kubelet.pods(namespace, pod).forEach(r -> {
      try {
        r.signal(container, "CONT");
      } catch (IllegalArgumentException e) {
        // That container no longer runs.
      }
    });
  }

  public void deletePod(String namespace, String pod) {
    client.pods().inNamespace(namespace).withName(pod).delete();
  }

  /** The API server answers 503 to everything for {@code duration} (the control plane is unreachable). */
  public void apiOutage(java.time.Duration duration) {
    api.outage(duration);
  }

  /** The pod's node dies: all its processes get SIGKILL, nothing restarts, the pod status goes stale. */
  public void loseNode(String namespace, String pod) {
    runner(namespace, pod).loseNode();
  }

  /**
   * The pod's node stops hearing from the API server: a deletion of the pod (even a force deletion,
   * which removes it from the API at once) is not carried out and its processes run on until
   * {@link #healPartition}. Returns the pod's uid, which names it after it left the API.
   */
  public String partitionNode(String namespace, String pod) {
    String uid = runner(namespace, pod).uid();
    kubelet.partition(uid);
    return uid;
  }

  /** The node hears from the API server again: a pod deleted meanwhile is stopped now. */
  public void healPartition(String uid) {
    kubelet.heal(uid);
  }

  /** No Service forwards to the pod any more, and forwarded connections to it are cut. */
  public void cutOff(String namespace, String pod) {
    network.cutOff(podIp(namespace, pod));
  }

  public void reconnect(String namespace, String pod) {
    network.reconnect(podIp(namespace, pod));
  }

  private Kubelet.PodRunnerView runner(String namespace, String pod) {
    return kubelet.pod(namespace, pod)
        .orElseThrow(() -> new IllegalArgumentException("no pod " + namespace + "/" + pod + " runs"));
  }

  private void controlLoop() {
    long lastCollection = 0;
    while (!closed) {
      try {
        List<Pod> pods = client.pods().inAnyNamespace().list().getItems();
        var sets = client.apps().statefulSets().inAnyNamespace().list().getItems();
        var services = client.services().inAnyNamespace().list().getItems();
        kubelet.sync(pods);
        statefulSets.sync(sets, pods);
        network.sync(services, pods);
        if (System.currentTimeMillis() - lastCollection > 1000) {
          collectGarbage(pods, sets, services);
          lastCollection = System.currentTimeMillis();
        }
        Thread.sleep(200);
      } catch (InterruptedException e) {
        return;
      } catch (RuntimeException e) {
        if (!closed) {
          LOG.warn("sandbox control loop: {}", e.toString(), e);
        }
      }
    }
  }

  private void collectGarbage(List<Pod> pods, List<? extends HasMetadata> sets, List<? extends HasMetadata> services) {
    List<HasMetadata> dependents = new ArrayList<>();
    dependents.addAll(pods);
    dependents.addAll(sets);
    dependents.addAll(services);
    dependents.addAll(client.configMaps().inAnyNamespace().list().getItems());
    dependents.addAll(client.secrets().inAnyNamespace().list().getItems());
    dependents.addAll(client.policy().v1().podDisruptionBudget().inAnyNamespace().list().getItems());
    dependents.addAll(client.leases().inAnyNamespace().list().getItems());
    Set<String> live = new HashSet<>();
    client.resources(PgCluster.class).inAnyNamespace().list().getItems()
        .forEach(c -> live.add(c.getMetadata().getUid()));
    dependents.forEach(d -> live.add(d.getMetadata().getUid()));
    garbageCollector.collect(live, dependents);
  }

  @Override
  public void close() {
    List<PgClusterOperator> running;
    synchronized (operators) {
      running = new ArrayList<>(operators);
      operators.clear();
    }
    running.forEach(PgClusterOperator::close);
    closed = true;
    loop.interrupt();
    try {
      loop.join(5000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    kubelet.close();
    network.close();
    client.close();
    api.close();
    if (!keepRoot) {
      deleteTree(root);
    }
    LOG.info("sandbox stopped");
  }

  /**
   * Processes started for this sandbox that are still alive: their working directory (PostgreSQL works
   * in its data directory) or their environment lies in the sandbox's directory. Empty after
   * {@link #close()}, which the tests check.
   */
  public List<Long> leftoverProcesses() {
    byte[] marker = root.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8);
    List<Long> found = new ArrayList<>();
    try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
      for (Path p : procs.toList()) {
        String name = p.getFileName().toString();
        if (!name.chars().allMatch(Character::isDigit) || Long.parseLong(name) == ProcessHandle.current().pid()) {
          continue;
        }
        try {
          String stat = Files.readString(p.resolve("stat"));
          boolean zombie = stat.substring(stat.lastIndexOf(')') + 2).startsWith("Z");
          if (zombie) {
            continue;
          }
          String cwd = "";
          try {
            cwd = Files.readSymbolicLink(p.resolve("cwd")).toString();
          } catch (IOException e) {
            // Not readable: rely on the environment.
          }
          if (cwd.startsWith(root.toString()) || indexOf(Files.readAllBytes(p.resolve("environ")), marker) >= 0) {
            found.add(Long.parseLong(name));
          }
        } catch (IOException | RuntimeException e) {
          // Gone, or not ours to read.
        }
      }
    } catch (IOException e) {
      throw new IllegalStateException("cannot read /proc", e);
    }
    return found;
  }

  private static int indexOf(byte[] haystack, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= haystack.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (haystack[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

  private static void deleteTree(Path dir) {
    try (Stream<Path> walk = Files.walk(dir)) {
      walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      LOG.warn("could not remove {}: {}", dir, e.toString());
    }
  }
}
