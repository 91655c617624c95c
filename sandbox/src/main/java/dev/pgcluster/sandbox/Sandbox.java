package dev.pgcluster.sandbox;

import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.sandbox.controller.VolumeProvisioner;
import dev.pgcluster.sandbox.controlplane.ControlPlane;
import dev.pgcluster.sandbox.controlplane.ControlPlaneBuild;
import dev.pgcluster.sandbox.kubelet.Images;
import dev.pgcluster.sandbox.kubelet.Kubelet;
import dev.pgcluster.sandbox.kubelet.VolumeAttachments;
import dev.pgcluster.sandbox.net.AddressPool;
import dev.pgcluster.sandbox.net.LocalRoutes;
import dev.pgcluster.sandbox.net.PodNetwork;
import dev.pgcluster.sandbox.net.ServiceNetwork;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.TaintBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A Kubernetes cluster on one machine: a real control plane ({@link ControlPlane}: etcd, kube-apiserver,
 * kube-controller-manager, kube-scheduler), and the parts that stand in for what the machine cannot
 * have: kubelets ({@link Kubelet}: one system node for the operator, three worker nodes for databases)
 * running pods as local processes, Service proxies following EndpointSlices, and a volume provisioner.
 * The operator is installed into it with its Helm chart ({@link #installOperator}). Everything stops
 * with {@link #close()}.
 */
public final class Sandbox implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Sandbox.class);
  private static final AtomicInteger BLOCKS = new AtomicInteger();
  /** The node the operator runs on, tainted as an AKS system pool is, so databases go elsewhere. */
  public static final String SYSTEM_NODE = "sandbox-system";
  public static final List<String> WORKER_NODES = List.of("sandbox-1", "sandbox-2", "sandbox-3");
  public static final String OPERATOR_NAMESPACE = "pgcluster-system";

  private final Path root;
  private final boolean keepRoot;
  private final ControlPlane controlPlane;
  private final KubernetesClient client;
  private final KubernetesClient proxyClient;
  private final ServiceNetwork network;
  private final PodNetwork podNetwork;
  private final String apiAddress;
  private final Map<String, Kubelet> kubelets = new LinkedHashMap<>();
  private final VolumeProvisioner provisioner;
  private final Thread loop;
  private volatile boolean closed;
  private final AddressPool addresses;
  private dev.pgcluster.sandbox.objectstore.ObjectStore objectStore;

  /**
   * The sandbox's S3-protocol object store, started on first use: s3proxy over HTTPS, as the Service
   * objectstore.objectstore.svc (see ObjectStore).
   */
  public synchronized dev.pgcluster.sandbox.objectstore.ObjectStore objectStore() {
    if (objectStore == null) {
      objectStore = dev.pgcluster.sandbox.objectstore.ObjectStore.start(root.resolve("objectstore"),
          addresses.allocate(9443), client);
    }
    return objectStore;
  }

  private Sandbox(Path root, boolean keepRoot) throws IOException {
    this.root = root;
    this.keepRoot = keepRoot;
    LocalRoutes.ensure();
    // Each sandbox takes its own /22 of pod and Service addresses, so that sandboxes never meet.
    int third = 4 * Math.floorMod((int) ProcessHandle.current().pid() * 7 + BLOCKS.getAndIncrement(), 64);
    AddressPool addresses = new AddressPool("198.18", third);
    this.addresses = addresses;
    this.apiAddress = addresses.allocate(6443);
    String serviceCidr = "198.19." + third + ".0/22";
    List<String> nodes = new ArrayList<>(List.of(SYSTEM_NODE));
    nodes.addAll(WORKER_NODES);
    this.controlPlane = ControlPlane.start(root.resolve("control-plane"), apiAddress, serviceCidr, nodes);
    this.client = controlPlane.client(ControlPlane.ADMIN);
    Files.copy(controlPlane.adminKubeconfig(), root.resolve("kubeconfig"),
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    this.proxyClient = controlPlane.client("system:kube-proxy");
    this.network = new ServiceNetwork(root.resolve("dns"));
    this.podNetwork = PodNetwork.open(String.valueOf(third), addresses.cidr());
    this.provisioner = new VolumeProvisioner(client, root.resolve("volumes"));
    String kubernetesIp = "198.19." + third + ".1";
    Map<String, String> serviceEnv = Map.of(
        "KUBERNETES_SERVICE_HOST", kubernetesIp,
        "KUBERNETES_SERVICE_PORT", "443",
        "KUBERNETES_SERVICE_PORT_HTTPS", "443",
        "KUBERNETES_PORT", "tcp://" + kubernetesIp + ":443",
        "KUBERNETES_PORT_443_TCP", "tcp://" + kubernetesIp + ":443",
        "KUBERNETES_PORT_443_TCP_PROTO", "tcp",
        "KUBERNETES_PORT_443_TCP_PORT", "443",
        "KUBERNETES_PORT_443_TCP_ADDR", kubernetesIp);
    Images images = new Images(operatorJar().map(this::pullOperatorImage).orElse(null));
    AtomicInteger podSequence = new AtomicInteger();
    VolumeAttachments attachments = new VolumeAttachments();
    for (String node : nodes) {
      String nodeIp = addresses.allocate(10250);
      kubelets.put(node, new Kubelet(node, nodeIp, controlPlane.client("system:node:" + node),
          addresses, network, podNetwork, root, images, serviceEnv, podSequence, attachments,
          () -> controlPlane.client("system:node:" + node), controlPlane.kubeletServing(node, nodeIp)));
    }
    // A system node pool: only what tolerates the taint (the operator, as installed here) runs there.
    client.nodes().withName(SYSTEM_NODE).edit(n -> {
      n.getSpec().setTaints(List.of(new TaintBuilder().withKey("CriticalAddonsOnly").withValue("true")
          .withEffect("NoSchedule").build()));
      n.getMetadata().getLabels().put("pgcluster.dev/node-pool", "system");
      return n;
    });
    this.loop = new Thread(this::controlLoop, "sandbox network and volumes");
    this.loop.setDaemon(true);
    this.loop.start();
    LOG.info("sandbox up: API {}, kubeconfig {}, pods in 198.18.{}.0/22, Services in {}, PostgreSQL {}, data in {}",
        controlPlane.apiUrl(), kubeconfig(), third, serviceCidr, images.postgresVersion(), root);
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

  /** A client with administrator rights (system:masters), as a cluster admin's kubectl has. */
  public KubernetesClient client() {
    return client;
  }

  public ControlPlane controlPlane() {
    return controlPlane;
  }

  /** The administrator's kubeconfig: {@code kubectl --kubeconfig <this>} works against the sandbox. */
  public Path kubeconfig() {
    return root.resolve("kubeconfig");
  }

  public Path root() {
    return root;
  }

  public String apiUrl() {
    return controlPlane.apiUrl();
  }

  /**
   * Installs the operator as users do: {@code helm install} of helm/pgcluster-operator (two replicas,
   * leader election, the chart's ServiceAccount and ClusterRole), with the locally built image name the
   * kubelets map to the operator jar. Returns once an operator pod is Ready.
   */
  public void installOperator(String... extraValues) {
    installOperator(false, extraValues);
  }

  /**
   * As {@link #installOperator(String...)}; with {@code skipCrds} the chart's CRD is left out
   * ({@code helm install --skip-crds}), for a CRD applied beforehand with kubectl: Helm 4 applies CRDs
   * server-side and refuses to take over fields kubectl's client-side apply owns.
   */
  public void installOperator(boolean skipCrds, String... extraValues) {
    KubeTools helm = new KubeTools(kubeconfig());
    List<String> values = new ArrayList<>(List.of(
        "image.repository=pgcluster-operator", "image.tag=dev", "image.pullPolicy=Never",
        // Pods share this machine's network, as with hostNetwork: each replica listens on its pod IP.
        "operator.httpAddress=podIP",
        "operator.logFormat=text",
        "operator.statusRefreshSeconds=2",
        "nodeSelector.pgcluster\\.dev/node-pool=system",
        "tolerations[0].key=CriticalAddonsOnly", "tolerations[0].operator=Exists",
        "tolerations[0].effect=NoSchedule"));
    values.addAll(List.of(extraValues));
    helm.install("pgcluster-operator", ControlPlaneBuild.repositoryRoot().resolve("helm/pgcluster-operator"),
        OPERATOR_NAMESPACE, values, skipCrds);
    try {
      Await.untilTrue(Duration.ofSeconds(120), "an operator pod Ready", () -> operatorPods().stream()
          .anyMatch(Sandbox::ready));
    } catch (AssertionError e) {
      throw new IllegalStateException(e.getMessage() + "; operator log: " + operatorLogTail(), e);
    }
  }

  private String operatorLogTail() {
    try (Stream<Path> pods = Files.list(root.resolve("pods"))) {
      for (Path pod : pods.filter(p -> p.getFileName().toString().contains("pgcluster-operator")).toList()) {
        Path log = pod.resolve("logs/operator.log");
        if (Files.exists(log)) {
          List<String> lines = Files.readAllLines(log);
          return String.join("\n", lines.subList(Math.max(0, lines.size() - 10), lines.size()));
        }
      }
    } catch (IOException e) {
      return e.toString();
    }
    return "(none written)";
  }

  /** The operator's pods (the Deployment's), oldest first. */
  public List<Pod> operatorPods() {
    return client.pods().inNamespace(OPERATOR_NAMESPACE).withLabel("app.kubernetes.io/name", "pgcluster-operator")
        .list().getItems().stream().filter(p -> p.getMetadata().getDeletionTimestamp() == null)
        .sorted(Comparator.comparing(p -> p.getMetadata().getCreationTimestamp())).toList();
  }

  /** Everything an operator pod (by name, running or gone) wrote to its log, restarts included. */
  public String operatorLogs(String pod) {
    StringBuilder text = new StringBuilder();
    try (Stream<Path> pods = Files.list(root.resolve("pods"))) {
      for (Path dir : pods.filter(p -> p.getFileName().toString().endsWith("-" + pod)).toList()) {
        Path log = dir.resolve("logs/operator.log");
        if (Files.exists(log)) {
          text.append(Files.readString(log));
        }
      }
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    return text.toString();
  }

  /**
   * The last {@code lines} lines a container of the newest pod by that name wrote (restarts included),
   * or empty when there is none. For test diagnostics.
   */
  public List<String> containerLogTail(String pod, String container, int lines) {
    try (Stream<Path> pods = Files.list(root.resolve("pods"))) {
      Optional<Path> newest = pods.filter(p -> p.getFileName().toString().endsWith("-" + pod))
          .max(Comparator.comparingInt(p -> Integer.parseInt(p.getFileName().toString().split("-", 2)[0])));
      if (newest.isEmpty() || !Files.exists(newest.get().resolve("logs/" + container + ".log"))) {
        return List.of();
      }
      List<String> all = Files.readAllLines(newest.get().resolve("logs/" + container + ".log"));
      return all.subList(Math.max(0, all.size() - lines), all.size());
    } catch (IOException | RuntimeException e) {
      return List.of("(log not readable: " + e.getMessage() + ")");
    }
  }

  /**
   * Lines of every operator pod's log (all replicas, restarts included) in which RBAC refused a request
   * (403, "User ... cannot ..."): the chart's ClusterRole lacks something. Read from the pod log files.
   */
  public List<String> operatorRbacDenials() {
    List<String> denials = new ArrayList<>();
    try (Stream<Path> pods = Files.list(root.resolve("pods"))) {
      for (Path pod : pods.filter(p -> p.getFileName().toString().contains("pgcluster-operator")).toList()) {
        Path log = pod.resolve("logs/operator.log");
        if (Files.exists(log)) {
          try (Stream<String> lines = Files.lines(log)) {
            // RBAC's words ("User ... cannot get resource ..."), not an admission plugin's refusal, which is
            // also a 403 "is forbidden" (a claim of a class that does not allow expansion, say).
            lines.filter(l -> (l.contains("is forbidden") || l.contains("code=403")) && l.contains("\" cannot "))
                .limit(5).forEach(denials::add);
          }
        }
      }
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    return denials;
  }

  /**
   * Copies every pod's and every control-plane component's log into {@code target} (for a look after a
   * test run, when the sandbox directory itself is gone).
   */
  public void saveLogs(Path target) {
    try {
      for (Path logs : List.of(root.resolve("pods"), root.resolve("control-plane/logs"))) {
        if (!Files.isDirectory(logs)) {
          continue;
        }
        try (Stream<Path> files = Files.walk(logs)) {
          for (Path file : files.filter(f -> Files.isRegularFile(f) && f.toString().endsWith(".log")).toList()) {
            Path copy = target.resolve(root.relativize(file));
            Files.createDirectories(copy.getParent());
            Files.copy(file, copy, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
          }
        }
      }
    } catch (IOException e) {
      LOG.warn("could not save the sandbox's logs to {}: {}", target, e.toString());
    }
  }

  /** The operator replica holding the leader Lease (its pod name), if any. */
  public Optional<String> operatorLeader() {
    var lease = client.leases().inNamespace(OPERATOR_NAMESPACE).withName("pgcluster-operator-leader").get();
    return lease == null || lease.getSpec() == null ? Optional.empty()
        : Optional.ofNullable(lease.getSpec().getHolderIdentity());
  }

  /** Creates the resource in the manifest (YAML or JSON) in {@code namespace}, creating the namespace. */
  public PgCluster apply(String namespace, String manifest) {
    ensureNamespace(namespace);
    PgCluster cluster = io.fabric8.kubernetes.client.utils.Serialization.unmarshal(manifest, PgCluster.class);
    cluster.getMetadata().setNamespace(namespace);
    return client.resources(PgCluster.class).inNamespace(namespace).resource(cluster).create();
  }

  public void ensureNamespace(String namespace) {
    if (client.namespaces().withName(namespace).get() == null) {
      client.namespaces().resource(new io.fabric8.kubernetes.api.model.NamespaceBuilder().withNewMetadata()
          .withName(namespace).endMetadata().build()).create();
    }
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

  /** The cluster IP of a Service (where its proxy listens). */
  public String serviceAddress(String namespace, String service) {
    String known = network.serviceAddress(namespace, service);
    if (known != null) {
      return known;
    }
    var s = client.services().inNamespace(namespace).withName(service).get();
    return s == null ? null : s.getSpec().getClusterIP();
  }

  public String podIp(String namespace, String pod) {
    return runner(namespace, pod).ip();
  }

  public Path podLogs(String namespace, String pod) {
    return runner(namespace, pod).logDirectory();
  }

  /** The pid of a container's main process, or null when it does not run. */
  public Long kubeletPid(String namespace, String pod, String container) {
    return runner(namespace, pod).mainPid(container);
  }

  /** The node a pod runs on (from the kubelets, so that it works while the API server is down). */
  public String nodeOf(String namespace, String pod) {
    for (Kubelet kubelet : kubelets.values()) {
      if (kubelet.pod(namespace, pod).isPresent()) {
        return kubelet.nodeName();
      }
    }
    Pod p = client.pods().inNamespace(namespace).withName(pod).get();
    if (p == null || p.getSpec().getNodeName() == null) {
      throw new IllegalArgumentException("pod " + namespace + "/" + pod + " is not bound to a node");
    }
    return p.getSpec().getNodeName();
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

  /** SIGCONT if the pod still runs somewhere (it may have been deleted and stopped meanwhile). */
  public void thawContainerIfRunning(String namespace, String pod, String container) {
    kubelets.values().forEach(k -> k.pods(namespace, pod).forEach(r -> {
      try {
        r.signal(container, "CONT");
      } catch (IllegalArgumentException e) {
        // That container no longer runs.
      }
    }));
  }

  public void deletePod(String namespace, String pod) {
    client.pods().inNamespace(namespace).withName(pod).delete();
  }

  /**
   * The API server stops now and starts again after {@code duration}, in the background (operator,
   * kubelets and controllers lose it alike). Returns at once.
   */
  public void apiOutage(Duration duration) {
    // In-cluster clients reach the API server through the kubernetes Service, which (like the load
    // balancer in front of a managed control plane) routes only to an API server that passes /readyz:
    // a fresh one answers 403 to everybody until its RBAC informers have synced.
    network.cutOff(apiAddress);
    controlPlane.apiOutage(duration, () -> network.reconnect(apiAddress));
  }

  /**
   * The node of the pod dies: all its pods' processes get SIGKILL, its kubelet writes nothing more. The
   * node-lifecycle controller marks it NotReady after {@link ControlPlane#NODE_MONITOR_GRACE}. Returns the node.
   */
  public String loseNode(String namespace, String pod) {
    String node = nodeOf(namespace, pod);
    List<String> ips = kubelets.get(node).podIps();
    kubelets.get(node).lose();
    network.severLater(ips, LOST_NODE_CONNECTIONS_END);
    return node;
  }

  /** When a client's dead-peer detection would end its connections to a lost node (see ServiceNetwork). */
  static final Duration LOST_NODE_CONNECTIONS_END = Duration.ofSeconds(15);

  /**
   * Spreads the instances of a cluster (pods labelled {@code pgcluster.dev/cluster=<cluster>}) so that no
   * node holds two: a recreated pod may have been scheduled next to another one while a node was down.
   * Deletes the standbys that share a node (gracefully, as an administrator rebalancing would; the
   * scheduler's preferred anti-affinity places them on a free node). Returns how many were deleted.
   */
  public int spreadInstances(String namespace, String cluster, String primary) {
    Map<String, List<Pod>> byNode = new LinkedHashMap<>();
    client.pods().inNamespace(namespace).withLabel("pgcluster.dev/cluster", cluster).list().getItems().stream()
        .filter(p -> p.getSpec().getNodeName() != null && p.getMetadata().getDeletionTimestamp() == null)
        .forEach(p -> byNode.computeIfAbsent(p.getSpec().getNodeName(), n -> new ArrayList<>()).add(p));
    int deleted = 0;
    for (var entry : byNode.entrySet()) {
      List<Pod> pods = new ArrayList<>(entry.getValue());
      pods.sort(Comparator.comparing(p -> p.getMetadata().getName().equals(primary) ? 0 : 1));
      for (Pod extra : pods.subList(Math.min(1, pods.size()), pods.size())) {
        LOG.info("spreading {}: {} shares node {} with {}; deleting it", cluster, extra.getMetadata().getName(),
            entry.getKey(), pods.get(0).getMetadata().getName());
        deletePod(namespace, extra.getMetadata().getName());
        deleted++;
      }
    }
    return deleted;
  }

  /**
   * Nodes that were lost come back, as after a reboot: a new kubelet under the same name registers, renews
   * its Lease and runs whatever is bound to it (the pods it ran before were deleted meanwhile, or start anew).
   */
  public void restoreLostNodes() {
    kubelets.replaceAll((name, kubelet) -> {
      if (!kubelet.lost()) {
        return kubelet;
      }
      kubelet.close();
      try {
        LOG.info("node {} comes back", name);
        return kubelet.restarted();
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    });
  }

  /**
   * The pod's node stops hearing from the API server: no heartbeats, no status, no deletion carried out
   * (a force deletion removes the pod from the API at once, but its processes run on) until
   * {@link #healPartition}. Returns the node's name.
   */
  public String partitionNode(String namespace, String pod) {
    String node = nodeOf(namespace, pod);
    kubelets.get(node).partition();
    return node;
  }

  /** The node hears from the API server again: a pod deleted meanwhile is stopped now. */
  public void healPartition(String node) {
    kubelets.get(node).heal();
  }

  /**
   * Cuts the pod off from the given peers at the IP level until {@link #heal}: every packet between
   * them is dropped, both ways (no refusal, no reset: callers wait for their timeouts), whoever opened
   * the connection, directly or through a Service. The pod's processes run on and still reach
   * everything else. Needs root and iptables ({@link PodNetwork}).
   */
  public PodNetwork.Cut partition(String namespace, String pod, PodNetwork.Peer... peers) {
    return podNetwork.cut(podIp(namespace, pod), List.of(peers));
  }

  public void heal(PodNetwork.Cut cut) {
    podNetwork.heal(cut);
  }

  /** The API server as a peer to cut a pod off from. */
  public PodNetwork.Peer apiServer() {
    return new PodNetwork.Peer.ApiServer(apiAddress);
  }

  /** Another pod as a peer to cut a pod off from (by its current address). */
  public PodNetwork.Peer pod(String namespace, String pod) {
    return new PodNetwork.Peer.Pod(podIp(namespace, pod));
  }

  /** No Service forwards to the pod any more, and forwarded connections to it are cut. */
  public void cutOff(String namespace, String pod) {
    network.cutOff(podIp(namespace, pod));
  }

  public void reconnect(String namespace, String pod) {
    network.reconnect(podIp(namespace, pod));
  }

  /** As {@link #reconnect}, by address: for a pod that is gone (its address may be given to another). */
  public void reconnectAddress(String podIp) {
    network.reconnect(podIp);
  }

  private Kubelet.PodRunnerView runner(String namespace, String pod) {
    return kubelets.values().stream().flatMap(k -> k.pod(namespace, pod).stream()).findFirst()
        .orElseThrow(() -> new IllegalArgumentException("no pod " + namespace + "/" + pod + " runs"));
  }

  private static boolean ready(Pod pod) {
    return pod.getStatus() != null && pod.getStatus().getConditions() != null && pod.getStatus().getConditions()
        .stream().anyMatch(c -> "Ready".equals(c.getType()) && "True".equals(c.getStatus()));
  }

  private void controlLoop() {
    while (!closed) {
      try {
        network.sync(proxyClient.services().inAnyNamespace().list().getItems(),
            proxyClient.discovery().v1().endpointSlices().inAnyNamespace().list().getItems());
        provisioner.sync(client.persistentVolumeClaims().inAnyNamespace().list().getItems());
        Thread.sleep(200);
      } catch (InterruptedException e) {
        return;
      } catch (RuntimeException e) {
        if (!closed) {
          LOG.debug("sandbox network loop: {}", e.toString());
          try {
            Thread.sleep(500);
          } catch (InterruptedException ie) {
            return;
          }
        }
      }
    }
  }

  @Override
  public void close() {
    closed = true;
    loop.interrupt();
    try {
      loop.join(5000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    // Workers first, the system node (the operator) last, as when a cluster is torn down.
    List<Kubelet> order = new ArrayList<>(kubelets.values());
    java.util.Collections.reverse(order);
    order.forEach(Kubelet::close);
    if (objectStore != null) {
      objectStore.close();
    }
    podNetwork.close();
    network.close();
    proxyClient.close();
    client.close();
    controlPlane.close();
    if (!keepRoot) {
      deleteTree(root);
    }
    LOG.info("sandbox stopped");
  }

  /**
   * The operator "image" unpacked into the sandbox, as a node stores pulled images: the jar and its lib/
   * copied under {@code images/}, readable by the pod user (the checkout itself may not be, e.g. a
   * clone in a mode-0700 directory from mktemp). Returns the copied jar.
   */
  private Path pullOperatorImage(Path jar) {
    Path image = root.resolve("images/pgcluster-operator");
    try {
      Files.createDirectories(image.resolve("lib"));
      Files.copy(jar, image.resolve(jar.getFileName()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      try (Stream<Path> libs = Files.list(jar.resolveSibling("lib"))) {
        for (Path lib : libs.toList()) {
          Files.copy(lib, image.resolve("lib").resolve(lib.getFileName()),
              java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
      }
      for (Path p = image; !p.equals(root); p = p.getParent()) {
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
      }
    } catch (IOException e) {
      throw new java.io.UncheckedIOException("cannot copy the operator jar into the sandbox", e);
    }
    return image.resolve(jar.getFileName());
  }

  /** The operator jar the pgcluster-operator image maps to (operator/target, built by Maven). */
  static Optional<Path> operatorJar() {
    Path target = ControlPlaneBuild.repositoryRoot().resolve("operator/target");
    if (!Files.isDirectory(target)) {
      return Optional.empty();
    }
    try (Stream<Path> files = Files.list(target)) {
      return files.filter(p -> p.getFileName().toString().matches("pgcluster-operator-.*\\.jar"))
          .filter(p -> !p.getFileName().toString().matches(".*-(sources|tests|javadoc)\\.jar")).findFirst();
    } catch (IOException e) {
      return Optional.empty();
    }
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
          if (cwd.startsWith(root.toString()) || indexOf(Files.readAllBytes(p.resolve("environ")), marker) >= 0
              || indexOf(Files.readAllBytes(p.resolve("cmdline")), marker) >= 0) {
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
