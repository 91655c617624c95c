package dev.pgcluster.sandbox.controlplane;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real Kubernetes control plane on this machine: etcd, kube-apiserver (RBAC and Node authorizers,
 * the default admission plugins plus OwnerReferencesPermissionEnforcement and NodeRestriction,
 * service-account token signing, TLS with certificates made here), kube-controller-manager (every default
 * controller, each with its own service-account credentials) and kube-scheduler, built by
 * {@code sandbox/controlplane/build.sh} from the Go modules of one pinned Kubernetes release.
 *
 * <p>Clients authenticate with bearer tokens from a static token file: an administrator in
 * {@code system:masters} (kubectl, the tests), the controller manager, the scheduler, the Service
 * proxies and one identity per node ({@code system:node:<name>}, group {@code system:nodes}), so that the
 * Node authorizer and NodeRestriction judge each kubelet as on a real cluster.
 */
public final class ControlPlane implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ControlPlane.class);
  public static final String ADMIN = "sandbox-admin";
  public static final String SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local";

  private final Path dir;
  private final Path binaries;
  private final String apiAddress;
  private final String serviceCidr;
  private final Pki pki;
  /** Identity -> its bearer token. */
  private final Map<String, String> tokens = new LinkedHashMap<>();
  private final List<String> apiServerArgs;
  private final int etcdPort;
  private Process etcd;
  private volatile Process apiServer;
  private Process controllerManager;
  private Process scheduler;
  private final long startedNanos = System.nanoTime();

  /**
   * Starts the control plane with its files in {@code dir}. The API server listens on
   * {@code apiAddress}:6443 (an address that may appear in EndpointSlices: not loopback); Services get
   * cluster IPs from {@code serviceCidr}. {@code nodes} are the node names kubelets will use.
   */
  public static ControlPlane start(Path dir, String apiAddress, String serviceCidr, List<String> nodes) {
    try {
      ControlPlane plane = new ControlPlane(dir, ControlPlaneBuild.binaries(), apiAddress, serviceCidr, nodes);
      plane.startAll();
      return plane;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private ControlPlane(Path dir, Path binaries, String apiAddress, String serviceCidr, List<String> nodes)
      throws IOException {
    this.dir = Files.createDirectories(dir);
    this.binaries = binaries;
    this.apiAddress = apiAddress;
    this.serviceCidr = serviceCidr;
    String kubernetesServiceIp = firstServiceIp(serviceCidr);
    this.pki = Pki.generate(dir.resolve("pki"),
        List.of("localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
            "kubernetes.default.svc.cluster.local"),
        List.of("127.0.0.1", apiAddress, kubernetesServiceIp));
    // Identity -> groups; each gets a random bearer token (token file: token,user,uid,"groups").
    Map<String, String> groups = new LinkedHashMap<>();
    groups.put(ADMIN, "system:masters");
    groups.put("system:kube-controller-manager", "");
    groups.put("system:kube-scheduler", "");
    groups.put("system:kube-proxy", "");
    nodes.forEach(n -> groups.put("system:node:" + n, "system:nodes"));
    StringBuilder file = new StringBuilder();
    groups.forEach((user, userGroups) -> {
      String token = UUID.randomUUID().toString().replace("-", "");
      tokens.put(user, token);
      file.append(token).append(',').append(user).append(',').append(user).append(",\"").append(userGroups)
          .append("\"\n");
    });
    Files.writeString(dir.resolve("tokens.csv"), file.toString());
    this.etcdPort = freePort();
    Files.writeString(dir.resolve("admin.kubeconfig"), kubeconfigText(ADMIN));
    Files.writeString(dir.resolve("controller-manager.kubeconfig"), kubeconfigText("system:kube-controller-manager"));
    Files.writeString(dir.resolve("scheduler.kubeconfig"), kubeconfigText("system:kube-scheduler"));
    this.apiServerArgs = List.of(
        binaries.resolve("kube-apiserver").toString(),
        "--etcd-servers=http://127.0.0.1:" + etcdPort,
        "--bind-address=" + apiAddress,
        "--advertise-address=" + apiAddress,
        "--secure-port=6443",
        // Log requests (kubectl logs) go to the kubelets by node address, whose certificates the CA signs.
        "--kubelet-certificate-authority=" + pki.caCert(),
        "--kubelet-preferred-address-types=InternalIP",
        "--tls-cert-file=" + pki.servingCert(),
        "--tls-private-key-file=" + pki.servingKey(),
        "--client-ca-file=" + pki.caCert(),
        "--token-auth-file=" + dir.resolve("tokens.csv"),
        "--authorization-mode=Node,RBAC",
        // The default plugins stay on; these two are what a hardened cluster adds.
        "--enable-admission-plugins=NodeRestriction,OwnerReferencesPermissionEnforcement",
        "--service-account-issuer=" + SERVICE_ACCOUNT_ISSUER,
        "--service-account-key-file=" + pki.serviceAccountPublicKey(),
        "--service-account-signing-key-file=" + pki.serviceAccountKey(),
        "--service-cluster-ip-range=" + serviceCidr,
        "--cert-dir=" + dir.resolve("apiserver-certs"),
        "--profiling=false",
        "--event-ttl=1h");
  }

  private void startAll() throws IOException {
    etcd = launch("etcd", List.of(binaries.resolve("etcd").toString(),
        "--data-dir=" + dir.resolve("etcd"),
        "--listen-client-url=http://127.0.0.1:" + etcdPort,
        "--listen-peer-url=http://127.0.0.1:" + freePort(),
        // A throwaway cluster: fsync would only slow every write on a small machine.
        "--unsafe-no-fsync"));
    startApiServer();
    controllerManager = launch("kube-controller-manager", List.of(
        binaries.resolve("kube-controller-manager").toString(),
        "--kubeconfig=" + dir.resolve("controller-manager.kubeconfig"),
        "--use-service-account-credentials=true",
        "--service-account-private-key-file=" + pki.serviceAccountKey(),
        "--root-ca-file=" + pki.caCert(),
        "--leader-elect=false",
        "--secure-port=0",
        // Node loss noticed within seconds (defaults: 5 s period, 50 s grace) so tests need not wait.
        "--node-monitor-period=1s",
        "--node-monitor-grace-period=" + NODE_MONITOR_GRACE.toSeconds() + "s",
        "--service-cluster-ip-range=" + serviceCidr));
    startScheduler();
    LOG.info("control plane up in {} ms: API https://{}:6443, admin kubeconfig {}",
        (System.nanoTime() - startedNanos) / 1_000_000, apiAddress, adminKubeconfig());
  }

  /** How long a node may stay silent before the node-lifecycle controller marks it NotReady. */
  public static final Duration NODE_MONITOR_GRACE = Duration.ofSeconds(6);

  /** -v=2: each binding is logged ("Successfully bound pod to node"), for a look after a failure. */
  private void startScheduler() throws IOException {
    scheduler = launch("kube-scheduler", List.of(
        binaries.resolve("kube-scheduler").toString(),
        "--kubeconfig=" + dir.resolve("scheduler.kubeconfig"),
        "--leader-elect=false",
        "--secure-port=0",
        "--v=2"));
  }

  /**
   * kube-scheduler stops (SIGTERM) and starts again, building its cache afresh from the API server, as
   * an administrator restarts a scheduler that no longer schedules.
   */
  public synchronized void restartScheduler() throws IOException, InterruptedException {
    Process running = scheduler;
    running.destroy();
    if (!running.waitFor(10, TimeUnit.SECONDS)) {
      running.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
    LOG.info("kube-scheduler restarted");
    startScheduler();
  }

  private void startApiServer() throws IOException {
    apiServer = launch("kube-apiserver", apiServerArgs);
    awaitApiServer(Duration.ofSeconds(60));
  }

  /**
   * The API server stops now (SIGTERM, as a restart or upgrade of the control plane stops it) and starts
   * again on the same etcd after {@code duration}, in the background; returns once it is down.
   * {@code whenReady} runs once the new one passes /readyz.
   * {@link #awaitApiServer} tells when it is back. (With SIGKILL instead, the controller manager's
   * informers were seen to lag for tens of seconds after the restart: "read version ... is not as new as
   * written version", which once left a Service without endpoints for over a minute.)
   */
  public void apiOutage(Duration duration, Runnable whenReady) {
    restarting = true;
    Process running = apiServer;
    running.destroy();
    try {
      if (!running.waitFor(10, TimeUnit.SECONDS)) {
        running.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return;
    }
    LOG.info("kube-apiserver stopped for {} s", duration.toMillis() / 1000.0);
    Thread restart = new Thread(() -> {
      try {
        Thread.sleep(duration.toMillis());
        apiServer = launch("kube-apiserver", apiServerArgs);
        restarting = false;
        awaitApiServer(Duration.ofSeconds(60));
        LOG.info("kube-apiserver back");
        whenReady.run();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (IOException | RuntimeException e) {
        LOG.error("kube-apiserver did not come back: {}", e.toString());
      }
    }, "api outage");
    restart.setDaemon(true);
    restart.start();
  }

  private volatile boolean restarting;

  /** Waits until the API server answers /readyz (after an outage, say). */
  public void awaitApiServer(Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    try (KubernetesClient client = client(ADMIN)) {
      String last = "";
      while (System.nanoTime() < deadline) {
        if (restarting) {
          Thread.sleep(100);  // an outage: it is started again in the background
          continue;
        }
        if (!apiServer.isAlive()) {
          throw new IllegalStateException("kube-apiserver exited with " + apiServer.exitValue() + ": see "
              + log("kube-apiserver"));
        }
        try {
          String ready = client.raw("/readyz");
          if ("ok".equals(ready)) {
            return;
          }
          last = String.valueOf(ready);
        } catch (RuntimeException e) {
          last = e.getMessage();
        }
        Thread.sleep(100);
      }
      throw new IllegalStateException("kube-apiserver not ready in " + timeout.toSeconds() + " s (" + last
          + "): see " + log("kube-apiserver"));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting for kube-apiserver");
    }
  }

  private Process launch(String name, List<String> command) throws IOException {
    Files.createDirectories(dir.resolve("logs"));
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(log(name).toFile()));
    Process process = builder.start();
    LOG.debug("{} started (pid {}), log {}", name, process.pid(), log(name));
    return process;
  }

  public Path log(String component) {
    return dir.resolve("logs").resolve(component + ".log");
  }

  public String apiUrl() {
    return "https://" + apiAddress + ":6443";
  }

  public String apiAddress() {
    return apiAddress;
  }

  public Path caCert() {
    return pki.caCert();
  }

  /** TLS for a kubelet's server on {@code nodeIp}, with a certificate the API server trusts. */
  public javax.net.ssl.SSLContext kubeletServing(String nodeName, String nodeIp) {
    return pki.servingContext("system:node:" + nodeName, List.of(nodeName), List.of(nodeIp));
  }

  public Path adminKubeconfig() {
    return dir.resolve("admin.kubeconfig");
  }

  /** The bearer token of one of the identities in the token file. */
  public String token(String user) {
    String token = tokens.get(user);
    if (token == null) {
      throw new IllegalArgumentException("no identity " + user + " in the sandbox's token file");
    }
    return token;
  }

  /** A client authenticated as {@code user} (see the class comment for who exists). */
  public KubernetesClient client(String user) {
    Config config = Config.fromKubeconfig(kubeconfigText(user));
    config.setRequestTimeout(10_000);
    return new KubernetesClientBuilder().withConfig(config).build();
  }

  public String kubeconfigText(String user) {
    String name = user.replace(':', '-');
    return """
        apiVersion: v1
        kind: Config
        clusters:
        - name: sandbox
          cluster:
            server: %s
            certificate-authority: %s
        users:
        - name: %s
          user:
            token: %s
        contexts:
        - name: sandbox
          context:
            cluster: sandbox
            user: %s
            namespace: default
        current-context: sandbox
        """.formatted(apiUrl(), pki.caCert(), name, token(user), name);
  }

  @Override
  public void close() {
    List<Process> all = new ArrayList<>();
    for (Process p : new Process[] {scheduler, controllerManager, apiServer, etcd}) {
      if (p != null) {
        all.add(p);
        p.destroy();
      }
    }
    for (Process p : all) {
      try {
        if (!p.waitFor(5, TimeUnit.SECONDS)) {
          p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  static String firstServiceIp(String cidr) {
    String[] octets = cidr.substring(0, cidr.indexOf('/')).split("\\.");
    return octets[0] + "." + octets[1] + "." + octets[2] + "." + (Integer.parseInt(octets[3]) + 1);
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }
}
