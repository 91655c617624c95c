package dev.pgcluster.sandbox.kubelet;

import dev.pgcluster.sandbox.net.AddressPool;
import dev.pgcluster.sandbox.net.ServiceNetwork;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.NodeCondition;
import io.fabric8.kubernetes.api.model.NodeConditionBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One node of the sandbox. It registers its Node object, renews its node Lease every second and posts
 * the node status, as a kubelet does, with the node's own credentials ({@code system:node:<name>}, so
 * the Node authorizer and NodeRestriction judge it). It runs the pods the scheduler bound to it as local
 * processes, each on an address of its own ({@code status.podIP}), and finishes a pod's deletion once its
 * processes are gone (the final delete with grace period 0, as the kubelet does).
 *
 * <p>Losing the node ({@link #lose}) kills every process of every pod at once and stops all writes to the
 * API: no Lease renewal, no status, no deletions carried out. The real node-lifecycle controller then
 * marks the node NotReady and its pods not ready; nothing deletes the pods unless someone does.
 */
public final class Kubelet implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Kubelet.class);
  public static final Path NSS_WRAPPER = Path.of("/usr/lib/x86_64-linux-gnu/libnss_wrapper.so");
  private static final DateTimeFormatter MICROS = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSSSSXXX");

  private final String nodeName;
  private final String nodeIp;
  private final KubernetesClient client;
  private final AddressPool addresses;
  private final ServiceNetwork network;
  private final dev.pgcluster.sandbox.net.PodNetwork podNetwork;
  private final Map<String, String> serviceEnvironment;
  private final Path podsDirectory;
  private final Path claimsDirectory;
  private final HostUser user = new HostUser();
  private final Images images;
  private final Map<String, PodRunner> runners = new ConcurrentHashMap<>();
  private final Set<String> finalDeletes = ConcurrentHashMap.newKeySet();
  private final AtomicInteger podSequence;
  private final VolumeAttachments attachments;
  private final java.util.function.Supplier<KubernetesClient> clientFactory;
  private final Path root;
  private final Thread loop;
  private volatile boolean closing;
  private volatile boolean lost;
  private volatile boolean partitioned;
  private long lastNodeStatus;
  private final javax.net.ssl.SSLContext servingTls;
  private final KubeletServer server;

  /**
   * @param client authenticated as {@code system:node:<nodeName>}
   * @param serviceEnvironment what every container gets to find the API server (KUBERNETES_SERVICE_HOST...)
   */
  public Kubelet(String nodeName, String nodeIp, KubernetesClient client, AddressPool addresses,
      ServiceNetwork network, dev.pgcluster.sandbox.net.PodNetwork podNetwork, Path root, Images images,
      Map<String, String> serviceEnvironment, AtomicInteger podSequence, VolumeAttachments attachments,
      java.util.function.Supplier<KubernetesClient> clientFactory, javax.net.ssl.SSLContext servingTls)
      throws IOException {
    this.servingTls = servingTls;
    this.podNetwork = podNetwork;
    this.attachments = attachments;
    this.clientFactory = clientFactory;
    this.root = root;
    this.nodeName = nodeName;
    this.nodeIp = nodeIp;
    this.client = client;
    this.addresses = addresses;
    this.network = network;
    this.images = images;
    this.serviceEnvironment = Map.copyOf(serviceEnvironment);
    this.podSequence = podSequence;
    this.podsDirectory = Files.createDirectories(root.resolve("pods"));
    this.claimsDirectory = Files.createDirectories(root.resolve("volumes"));
    user.handOver(root);
    user.handOver(podsDirectory);
    user.handOver(claimsDirectory);
    if (!Files.exists(NSS_WRAPPER)) {
      throw new IllegalStateException("the sandbox resolves Service names for pods with nss_wrapper: install it "
          + "(apt-get install libnss-wrapper)");
    }
    this.server = new KubeletServer(nodeName, nodeIp, servingTls, this::logDirectory);
    try {
      register();
    } catch (RuntimeException e) {
      server.close();
      throw e;
    }
    this.loop = new Thread(this::run, "kubelet " + nodeName);
    this.loop.setDaemon(true);
    this.loop.start();
  }

  /** A new kubelet for the same node (after {@link #lose}: the node rebooted), with a new client. */
  public Kubelet restarted() throws IOException {
    server.close();  // the new kubelet listens on the same address
    return new Kubelet(nodeName, nodeIp, clientFactory.get(), addresses, network, podNetwork, root, images,
        serviceEnvironment, podSequence, attachments, clientFactory, servingTls);
  }

  public String nodeName() {
    return nodeName;
  }

  private void register() {
    Node node = new NodeBuilder()
        .withNewMetadata().withName(nodeName)
        .addToLabels("kubernetes.io/hostname", nodeName)
        .addToLabels("kubernetes.io/os", "linux")
        .addToLabels("kubernetes.io/arch", "amd64")
        .endMetadata()
        .build();
    try {
      client.nodes().resource(node).create();
    } catch (KubernetesClientException e) {
      if (e.getCode() != 409) {
        throw e;
      }
    }
    postNodeStatus(true);
    LOG.info("kubelet {}: node registered (address {})", nodeName, nodeIp);
  }

  private void postNodeStatus(boolean force) {
    long now = System.currentTimeMillis();
    if (!force && now - lastNodeStatus < 10_000) {
      return;
    }
    String time = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
    List<NodeCondition> conditions = List.of(
        condition("Ready", "True", "KubeletReady", "kubelet is posting ready status", time),
        condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory", time),
        condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure", time),
        condition("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available", time));
    Map<String, Quantity> capacity = Map.of("cpu", new Quantity("16"), "memory", new Quantity("64Gi"),
        "pods", new Quantity("110"), "ephemeral-storage", new Quantity("100Gi"));
    // The node-lifecycle controller writes the status too (a lost node's conditions): on a conflict,
    // read again and retry, as a kubelet does.
    for (int attempt = 1; ; attempt++) {
      Node node = client.nodes().withName(nodeName).get();
      if (node == null) {
        return;
      }
      node.setStatus(new io.fabric8.kubernetes.api.model.NodeStatusBuilder()
          .withConditions(conditions)
          .withCapacity(capacity).withAllocatable(capacity)
          .addNewAddress().withType("InternalIP").withAddress(nodeIp).endAddress()
          .addNewAddress().withType("Hostname").withAddress(nodeName).endAddress()
          .withNewDaemonEndpoints().withNewKubeletEndpoint().withPort(KubeletServer.PORT).endKubeletEndpoint()
          .endDaemonEndpoints()
          .withNewNodeInfo().withKubeletVersion("v0.0.0-sandbox").withOperatingSystem("linux").withArchitecture("amd64")
          .withContainerRuntimeVersion("sandbox://processes").withOsImage("pgcluster sandbox")
          .withKernelVersion(System.getProperty("os.version")).withMachineID(nodeName).withSystemUUID(nodeName)
          .withBootID(nodeName).withKubeProxyVersion("").endNodeInfo()
          .build());
      try {
        client.nodes().resource(node).updateStatus();
        lastNodeStatus = now;
        return;
      } catch (io.fabric8.kubernetes.client.KubernetesClientException e) {
        // NodeRestriction admission runs before the conflict check: taints changed since the read (the
        // node-lifecycle controller's, when the node comes back) are refused with a 403, not a 409.
        boolean staleTaints = e.getCode() == 403 && String.valueOf(e.getMessage()).contains("modify taints");
        if ((e.getCode() != 409 && !staleTaints) || attempt >= 5) {
          throw e;
        }
      }
    }
  }

  private static NodeCondition condition(String type, String status, String reason, String message, String time) {
    return new NodeConditionBuilder().withType(type).withStatus(status).withReason(reason).withMessage(message)
        .withLastHeartbeatTime(time).withLastTransitionTime(time).build();
  }

  /** The node Lease in kube-node-lease: the heartbeat the node-lifecycle controller watches. */
  private void renewLease() {
    String now = ZonedDateTime.now(ZoneOffset.UTC).format(MICROS);
    var leases = client.leases().inNamespace("kube-node-lease");
    Lease lease = leases.withName(nodeName).get();
    if (lease == null) {
      leases.resource(new LeaseBuilder().withNewMetadata().withName(nodeName).withNamespace("kube-node-lease")
          .endMetadata().withNewSpec().withHolderIdentity(nodeName).withLeaseDurationSeconds(40)
          .withRenewTime(ZonedDateTime.now(ZoneOffset.UTC)).endSpec().build()).create();
      return;
    }
    lease.getSpec().setRenewTime(ZonedDateTime.parse(now, MICROS));
    leases.resource(lease).update();
  }

  private void run() {
    long lastLease = 0;
    while (!closing && !lost) {
      try {
        if (!partitioned) {
          long now = System.currentTimeMillis();
          if (now - lastLease >= 1000) {
            renewLease();
            postNodeStatus(false);
            lastLease = now;
          }
          sync(client.pods().inAnyNamespace().withField("spec.nodeName", nodeName).list().getItems());
        }
        Thread.sleep(200);
      } catch (InterruptedException e) {
        return;
      } catch (RuntimeException e) {
        if (!closing && !lost) {
          LOG.debug("kubelet {}: {}", nodeName, e.toString());
          try {
            Thread.sleep(500);
          } catch (InterruptedException ie) {
            return;
          }
        }
      }
    }
  }

  /** Starts pods bound here, stops deleted ones, and completes deletions whose processes are gone. */
  private void sync(List<Pod> pods) {
    Map<String, Pod> present = new HashMap<>();
    for (Pod pod : pods) {
      String uid = pod.getMetadata().getUid();
      present.put(uid, pod);
      PodRunner runner = runners.get(uid);
      if (runner == null && pod.getMetadata().getDeletionTimestamp() == null && !closing
          && !"Succeeded".equals(phase(pod)) && !"Failed".equals(phase(pod))) {
        String ip = addresses.allocate(5432);
        // Short: PostgreSQL's socket path inside the pod's emptyDir must stay under 108 bytes.
        Path dir = podsDirectory.resolve(podSequence.incrementAndGet() + "-" + pod.getMetadata().getName());
        try {
          Files.createDirectories(dir);
          user.handOver(dir);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
        podNetwork.attach(nodeName, dir.getFileName().toString(), ip);
        runner = new PodRunner(this, pod, ip, dir);
        runners.put(uid, runner);
        LOG.info("kubelet {}: pod {}/{} gets address {} (directory {})", nodeName, pod.getMetadata().getNamespace(),
            pod.getMetadata().getName(), ip, dir);
        runner.start();
      } else if (runner == null && pod.getMetadata().getDeletionTimestamp() != null) {
        finalDelete(pod);
      }
      if (runner != null && pod.getMetadata().getDeletionTimestamp() != null) {
        Long grace = pod.getMetadata().getDeletionGracePeriodSeconds();
        runner.terminate(Optional.ofNullable(grace));
        if (runner.finished()) {
          finalDelete(pod);
        }
      }
    }
    // Gone from the API while still running here: force-deleted; every process dies now.
    runners.forEach((uid, runner) -> {
      if (!present.containsKey(uid)) {
        runner.terminate(Optional.of(0L));
      }
    });
    runners.entrySet().removeIf(e -> e.getValue().finished()
        && (!present.containsKey(e.getKey()) || present.get(e.getKey()).getMetadata().getDeletionTimestamp() != null));
  }

  /** The kubelet's last word on a deleted pod: every container stopped, remove it from the API for good. */
  private void finalDelete(Pod pod) {
    try {
      client.pods().inNamespace(pod.getMetadata().getNamespace()).withName(pod.getMetadata().getName())
          .withGracePeriod(0).delete();
    } catch (KubernetesClientException e) {
      LOG.debug("kubelet {}: final delete of {} failed: {}", nodeName, pod.getMetadata().getName(), e.getMessage());
    }
  }

  private static String phase(Pod pod) {
    return pod.getStatus() == null ? null : pod.getStatus().getPhase();
  }

  /** The addresses of the pods this node runs (or ran and has not forgotten yet). */
  public List<String> podIps() {
    return runners.values().stream().map(PodRunner::ip).filter(java.util.Objects::nonNull).distinct().toList();
  }

  /**
   * The node dies: every process of every pod gets SIGKILL, nothing restarts, and the node writes nothing
   * to the API any more (no Lease renewal, no status, no deletion carried out).
   */
  public void lose() {
    lost = true;
    loop.interrupt();
    // Nothing of this node may start again (a restart of a container killed below would run a second
    // postmaster on a volume its replacement pod uses: a chaos run found a standby's WAL corrupted so).
    runners.values().forEach(PodRunner::markNodeLost);
    // One instant for every process of the node; then its addresses go silent (dropped, not refused:
    // the kill's resets go nowhere either), then the processes die.
    if (podNetwork.freezeNode(nodeName)) {
      runners.values().forEach(r -> podNetwork.cut(r.ip(),
          List.of(new dev.pgcluster.sandbox.net.PodNetwork.Peer.Everything())));
      podNetwork.killNode(nodeName);
    }
    runners.values().forEach(PodRunner::loseNode);
    server.silence();
    LOG.info("kubelet {}: node lost", nodeName);
  }

  public boolean lost() {
    return lost;
  }

  /**
   * The node no longer hears from the API server: it renews nothing, writes no status, and carries out
   * no deletion; its processes run on until {@link #heal}.
   */
  public void partition() {
    partitioned = true;
    LOG.info("kubelet {}: partitioned from the API server", nodeName);
  }

  public void heal() {
    partitioned = false;
    LOG.info("kubelet {}: hears from the API server again", nodeName);
  }

  /** The log directory of the running (or last started) pod of that name here, for the log endpoint. */
  private Optional<java.nio.file.Path> logDirectory(String namespace, String name) {
    return runners.values().stream()
        .filter(r -> r.pod().getMetadata().getNamespace().equals(namespace) && r.pod().getMetadata().getName().equals(name))
        .sorted(java.util.Comparator.comparing(PodRunner::finished))
        .findFirst().map(PodRunner::logDirectory);
  }

  public Optional<PodRunnerView> pod(String namespace, String name) {
    return runners.values().stream()
        .filter(r -> !r.finished() && r.pod().getMetadata().getNamespace().equals(namespace)
            && r.pod().getMetadata().getName().equals(name))
        .findFirst().map(PodRunnerView::new);
  }

  /** Every pod of that name still running here, including ones deleted and stopping. */
  public List<PodRunnerView> pods(String namespace, String name) {
    return runners.values().stream()
        .filter(r -> !r.finished() && r.pod().getMetadata().getNamespace().equals(namespace)
            && r.pod().getMetadata().getName().equals(name))
        .map(PodRunnerView::new).toList();
  }

  /** The fault-injection and inspection face of a running pod. */
  public static final class PodRunnerView {
    private final PodRunner runner;

    PodRunnerView(PodRunner runner) {
      this.runner = runner;
    }

    public String ip() {
      return runner.ip();
    }

    public String uid() {
      return runner.uid();
    }

    public void signal(String container, String signal) {
      runner.signal(container, signal);
    }

    public Long mainPid(String container) {
      return runner.mainPid(container);
    }

    public Path logDirectory() {
      return runner.logDirectory();
    }
  }

  /**
   * The environment that points a pod's name lookups at the sandbox's hosts file for its namespace:
   * glibc's resolver through nss_wrapper, readers of /etc/hosts (c-ares, in PgBouncer) through
   * HostsRedirect.
   */
  Map<String, String> dnsEnvironment(String namespace) {
    // nss_wrapper holds 100 names by default; a sandbox with many clusters has thousands (every Service and
    // pod name, qualified, in every namespace's file): past the limit no name resolves.
    return Map.of("LD_PRELOAD", NSS_WRAPPER + " " + HostsRedirect.library(),
        "NSS_WRAPPER_HOSTS", network.hostsFile(namespace).toString(), "NSS_WRAPPER_MAX_HOSTENTS", "100000");
  }

  Map<String, String> serviceEnvironment() {
    return serviceEnvironment;
  }

  String nodeIp() {
    return nodeIp;
  }

  KubernetesClient client() {
    return client;
  }

  /** What starts each process of a pod: in the pod's network, as the pod user. */
  List<String> processPrefix(Path podDirectory) {
    List<String> prefix = new java.util.ArrayList<>(podNetwork.launchPrefix(nodeName,
        podDirectory.getFileName().toString()));
    prefix.addAll(user.commandPrefix());
    return prefix;
  }

  void podGone(Path podDirectory) {
    podNetwork.detach(nodeName, podDirectory.getFileName().toString());
  }

  HostUser user() {
    return user;
  }

  Images images() {
    return images;
  }

  VolumeAttachments attachments() {
    return attachments;
  }

  Path claimsDirectory() {
    return claimsDirectory;
  }

  boolean closing() {
    return closing;
  }

  boolean writesToApi() {
    return !lost && !partitioned && !closing;
  }

  /** Stops every pod at once (SIGKILL after the preStop hook has had no time), and waits for them. */
  @Override
  public void close() {
    closing = true;
    loop.interrupt();
    server.close();
    runners.values().forEach(r -> r.terminate(Optional.of(0L)));
    for (PodRunner runner : runners.values()) {
      try {
        runner.awaitFinished(30_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    client.close();
  }
}
