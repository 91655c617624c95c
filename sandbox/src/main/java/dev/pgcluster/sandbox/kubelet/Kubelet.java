package dev.pgcluster.sandbox.kubelet;

import dev.pgcluster.sandbox.net.AddressPool;
import dev.pgcluster.sandbox.net.ServiceNetwork;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The sandbox's only node. Every pod in the API runs here as local processes, each on a loopback
 * address of its own ({@code status.podIP}). A deleted pod is stopped gracefully; until its processes
 * are gone, {@link #hasPod} still reports it, which is how the StatefulSet controller keeps the
 * at-most-one-pod-per-ordinal guarantee that Kubernetes gives with graceful deletion.
 */
public final class Kubelet implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Kubelet.class);
  public static final Path NSS_WRAPPER = Path.of("/usr/lib/x86_64-linux-gnu/libnss_wrapper.so");

  private final KubernetesClient client;
  private final AddressPool addresses;
  private final ServiceNetwork network;
  private final Path podsDirectory;
  private final Path claimsDirectory;
  private final HostUser user = new HostUser();
  private final Images images = new Images();
  private final Map<String, PodRunner> runners = new ConcurrentHashMap<>();
  private final java.util.concurrent.atomic.AtomicInteger podSequence = new java.util.concurrent.atomic.AtomicInteger();
  private volatile boolean closing;

  /** Pod uid -> grace period its deletion asked for (empty: the pod's terminationGracePeriodSeconds). */
  private final java.util.function.Function<String, java.util.Optional<Long>> deletionGrace;

  public Kubelet(KubernetesClient client, AddressPool addresses, ServiceNetwork network, Path root,
      java.util.function.Function<String, java.util.Optional<Long>> deletionGrace) throws IOException {
    this.client = client;
    this.deletionGrace = deletionGrace;
    this.addresses = addresses;
    this.network = network;
    this.podsDirectory = Files.createDirectories(root.resolve("pods"));
    this.claimsDirectory = Files.createDirectories(root.resolve("volumes"));
    user.handOver(root);
    user.handOver(podsDirectory);
    user.handOver(claimsDirectory);
    if (!Files.exists(NSS_WRAPPER)) {
      throw new IllegalStateException("the sandbox resolves Service names for pods with nss_wrapper: install it "
          + "(apt-get install libnss-wrapper)");
    }
    LOG.info("kubelet: postgres images run PostgreSQL {} from /usr/lib/postgresql", images.postgresVersion());
  }

  /** Starts pods that appeared, stops pods that were deleted. Called by the sandbox's loop. */
  public void sync(List<Pod> pods) {
    Set<String> present = new HashSet<>();
    for (Pod pod : pods) {
      String uid = pod.getMetadata().getUid();
      present.add(uid);
      if (!runners.containsKey(uid) && !closing) {
        String ip = addresses.allocate(5432);
        // Short: PostgreSQL's socket path inside the pod's emptyDir must stay under 108 bytes.
        Path dir = podsDirectory.resolve(podSequence.incrementAndGet() + "-" + pod.getMetadata().getName());
        try {
          Files.createDirectories(dir);
          user.handOver(dir);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
        PodRunner runner = new PodRunner(this, pod, ip, dir);
        runners.put(uid, runner);
        LOG.info("kubelet: pod {}/{} gets address {} (directory {})", pod.getMetadata().getNamespace(),
            pod.getMetadata().getName(), ip, dir);
        runner.start();
      }
    }
    runners.forEach((uid, runner) -> {
      if (!present.contains(uid) && !partitioned.contains(uid)) {
        runner.terminate(deletionGrace.apply(uid));
      }
    });
    runners.entrySet().removeIf(e -> !present.contains(e.getKey()) && e.getValue().finished());
  }

  /**
   * Pods whose node no longer hears from the API server: their deletion is not carried out, their
   * processes run on, until {@link #heal}. (A force deletion removes such a pod from the API at once.)
   */
  private final Set<String> partitioned = java.util.concurrent.ConcurrentHashMap.newKeySet();

  public void partition(String uid) {
    partitioned.add(uid);
  }

  public void heal(String uid) {
    partitioned.remove(uid);
  }

  /** True while a pod of this name exists here, including one still stopping after its deletion. */
  public boolean hasPod(String namespace, String name) {
    return runners.values().stream().anyMatch(r -> !r.finished()
        && r.pod().getMetadata().getNamespace().equals(namespace) && r.pod().getMetadata().getName().equals(name));
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

    public void loseNode() {
      runner.loseNode();
    }

    public Long mainPid(String container) {
      return runner.mainPid(container);
    }

    public Path logDirectory() {
      return runner.logDirectory();
    }
  }

  /** The environment that points a pod's name lookups at the sandbox's hosts file for its namespace. */
  Map<String, String> dnsEnvironment(String namespace) {
    return Map.of("LD_PRELOAD", NSS_WRAPPER.toString(),
        "NSS_WRAPPER_HOSTS", network.hostsFile(namespace).toString());
  }

  KubernetesClient client() {
    return client;
  }

  HostUser user() {
    return user;
  }

  Images images() {
    return images;
  }

  Path claimsDirectory() {
    return claimsDirectory;
  }

  boolean closing() {
    return closing;
  }

  /** Stops every pod at once (SIGKILL after the preStop hook has had no time), and waits for them. */
  @Override
  public void close() {
    closing = true;
    runners.values().forEach(r -> r.terminate(java.util.Optional.of(0L)));
    for (PodRunner runner : runners.values()) {
      try {
        runner.awaitFinished(30_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
