package dev.pgcluster.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.operator.crd.CrdCases;
import dev.pgcluster.sandbox.controlplane.ControlPlaneBuild;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.params.provider.Arguments;

/**
 * What users and GitOps tools see with kubectl against a real API server: the CRD's schema and CEL
 * rules reject every invalid manifest of {@link CrdCases} with the message the in-process validator
 * expects; valid manifests and the examples are accepted; applying the same manifest twice changes
 * nothing; {@code kubectl wait --for=condition=Ready} waits for the current generation; printer columns
 * and {@code kubectl explain} work.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class KubectlE2ETest {
  static final String NS = "kubectl";
  Sandbox sandbox;
  KubeTools kubectl;
  final Path repo = ControlPlaneBuild.repositoryRoot();

  @BeforeAll
  void startSandboxWithTheCrd() throws Exception {
    sandbox = Sandbox.start();
    kubectl = new KubeTools(sandbox.kubeconfig());
    KubeTools.Result crd = kubectl.kubectl("apply", "-f", repo.resolve("crds").toString());
    assertEquals(0, crd.exit(), crd.output());
    assertEquals(0, kubectl.kubectl("wait", "--for=condition=Established", "crd/pgclusters.pgcluster.dev",
        "--timeout=60s").exit());
    sandbox.ensureNamespace(NS);
  }

  @AfterAll
  void stopEverything() {
    SandboxCluster.closeAndCheckNoLeftovers(sandbox);
  }

  /** The manifest of a case under its own name, so that cases never meet. */
  static String named(String spec, String name) {
    return CrdCases.manifest(spec).replace("name: pg\n", "name: " + name + "\n");
  }

  @Test
  @Order(1)
  void everyInvalidManifestIsRejectedWithItsMessage() {
    List<String> failures = new ArrayList<>();
    int n = 0;
    for (Arguments args : CrdCases.invalid().toList()) {
      Object[] a = args.get();
      String name = "invalid-" + n++;
      String spec = (String) a[1];
      String oldSpec = (String) a[2];
      String expected = CrdCases.apiServerMessage((String) a[3]);
      if (oldSpec != null) {
        KubeTools.Result created = kubectl.kubectlWithInput(named(oldSpec, name), "apply", "-n", NS, "-f", "-");
        if (created.exit() != 0) {
          failures.add(a[0] + ": the old spec was refused: " + created.output());
          continue;
        }
      }
      KubeTools.Result result = kubectl.kubectlWithInput(named(spec, name), "apply", "-n", NS, "-f", "-");
      System.out.printf("kubectl apply (%s): exit %d: %s%n", a[0], result.exit(), result.output().trim());
      if (result.exit() == 0 || !result.output().contains(expected)) {
        failures.add(a[0] + ": expected a rejection containing '" + expected + "', got exit " + result.exit() + ": "
            + result.output().trim());
      }
    }
    assertEquals(List.of(), failures);
  }

  @Test
  @Order(2)
  void validManifestsAndTheExamplesAreAccepted() throws Exception {
    List<String> failures = new ArrayList<>();
    int n = 0;
    for (Arguments args : CrdCases.valid().toList()) {
      Object[] a = args.get();
      String name = "valid-" + n++;
      if (a[2] != null) {
        KubeTools.Result created = kubectl.kubectlWithInput(named((String) a[2], name), "apply", "-n", NS, "-f", "-");
        if (created.exit() != 0) {
          failures.add(a[0] + ": old spec refused: " + created.output());
        }
      }
      // Server-side dry run: the API server validates and admits it, nothing is stored.
      KubeTools.Result result = kubectl.kubectlWithInput(named((String) a[1], name), "apply", "--dry-run=server", "-n", NS, "-f", "-");
      if (result.exit() != 0) {
        failures.add(a[0] + ": " + result.output());
      }
    }
    try (var examples = Files.list(repo.resolve("examples"))) {
      for (Path example : examples.filter(p -> p.toString().endsWith(".yaml")).sorted().toList()) {
        KubeTools.Result result = kubectl.kubectl("apply", "--dry-run=server", "-n", NS, "-f", example.toString());
        if (result.exit() != 0) {
          failures.add(example.getFileName() + ": " + result.output());
        }
      }
    }
    assertEquals(List.of(), failures);
    // What the validation cases stored goes before the operator arrives (it would run them).
    assertEquals(0, kubectl.kubectl("delete", "pgc", "--all", "-n", NS, "--wait=true").exit());
  }

  @Test
  @Order(3)
  void explainAndPrinterColumns() {
    KubeTools.Result explain = kubectl.kubectl("explain", "pgc.spec.replication");
    assertEquals(0, explain.exit(), explain.output());
    assertTrue(explain.output().contains("mode") && explain.output().contains("durability"), explain.output());
    KubeTools.Result scheduling = kubectl.kubectl("explain", "pgc.spec.scheduling");
    assertEquals(0, scheduling.exit(), scheduling.output());
    assertTrue(scheduling.output().contains("podAntiAffinity") && scheduling.output().contains("tolerations"),
        scheduling.output());
    KubeTools.Result get = kubectl.kubectl("get", "pgc", "-A");
    assertEquals(0, get.exit(), get.output());
    KubeTools.Result category = kubectl.kubectl("get", "postgres", "-A");
    assertEquals(0, category.exit(), "the category lists clusters and backups: " + category.output());
  }

  @Test
  @Order(4)
  void appliedTwiceChangesNothingAndWaitForReadyWaitsForTheCurrentGeneration() throws Exception {
    sandbox.installOperator(true);  // the CRD is there already, applied with kubectl
    String manifest = Files.readString(repo.resolve("examples/pgcluster-async.yaml"));
    String name = sandbox.client().resources(PgCluster.class).load(new java.io.ByteArrayInputStream(
        manifest.getBytes(java.nio.charset.StandardCharsets.UTF_8))).item().getMetadata().getName();
    assertEquals(0, kubectl.kubectlWithInput(manifest, "apply", "-n", NS, "-f", "-").exit());
    KubeTools.Result waited = kubectl.kubectl("wait", "-n", NS, "--for=condition=Ready", "pgc/" + name, "--timeout=120s");
    assertEquals(0, waited.exit(), waited.output());

    KubeTools.Result columns = kubectl.kubectl("get", "pgc", "-n", NS);
    System.out.println(columns.output());
    for (String column : List.of("INSTANCES", "MODE", "PRIMARY", "PHASE", "READY", "AGE")) {
      assertTrue(columns.output().contains(column), column + " in " + columns.output());
    }
    assertTrue(columns.output().contains(name + "-0") && columns.output().contains("Healthy"), columns.output());
    KubeTools.Result wide = kubectl.kubectl("get", "pgc", "-n", NS, "-o", "wide");
    assertTrue(wide.output().contains("EPOCH") && wide.output().contains("SYNC"), wide.output());
    assertTrue(!columns.output().contains("EPOCH"), "wide columns only with -o wide: " + columns.output());

    // The same manifest again, as a GitOps tool re-syncs: no generation bump, no drift, and nothing in the
    // status that tools watch changes (phase, conditions with their transition times, primary, epoch).
    // Per-instance WAL positions and lag may move: PostgreSQL writes a standby snapshot every 15 s after
    // activity, and the status reports what it observes.
    String[] seen = {statusShape(get(name))};
    Await.until(Duration.ofSeconds(90), "the status settled for 6 s", () -> {
      Thread.sleep(6000);
      String now = statusShape(get(name));
      boolean stable = now.equals(seen[0]);
      seen[0] = now;
      return stable;
    });
    PgCluster before = get(name);
    KubeTools.Result again = kubectl.kubectlWithInput(manifest, "apply", "-n", NS, "-f", "-");
    assertTrue(again.output().contains("unchanged"), again.output());
    KubeTools.Result diff = kubectl.kubectlWithInput(manifest, "diff", "-n", NS, "-f", "-");
    assertEquals(0, diff.exit(), "kubectl diff sees drift: " + diff.output());
    Thread.sleep(6000);
    PgCluster after = get(name);
    assertEquals(before.getMetadata().getGeneration(), after.getMetadata().getGeneration(), "generation bumped");
    assertEquals(statusShape(before), statusShape(after), "the status changed while nothing happened");

    // A spec change through the scale subresource (beyond the schema's bounds it is refused): Ready is
    // only true again for the new generation.
    assertTrue(manifest.contains("instances: 3"), "the example names instances: 3");
    KubeTools.Result tooMany = kubectl.kubectl("scale", "-n", NS, "pgc/" + name, "--replicas=12");
    assertNotEquals(0, tooMany.exit(), tooMany.output());
    assertTrue(tooMany.output().contains("less than or equal to 9"), tooMany.output());
    KubeTools.Result scaled = kubectl.kubectl("scale", "-n", NS, "pgc/" + name, "--replicas=2");
    assertEquals(0, scaled.exit(), scaled.output());
    assertEquals(2, get(name).getSpec().instances);
    long generation = get(name).getMetadata().getGeneration();
    assertTrue(generation > before.getMetadata().getGeneration());
    waited = kubectl.kubectl("wait", "-n", NS, "--for=condition=Ready", "pgc/" + name, "--timeout=120s");
    assertEquals(0, waited.exit(), waited.output());
    var ready = get(name).getStatus().conditions.stream().filter(c -> "Ready".equals(c.getType())).findFirst()
        .orElseThrow();
    assertNotNull(ready.getObservedGeneration(), "Ready carries observedGeneration (kubectl wait relies on it)");
    assertTrue(ready.getObservedGeneration() >= generation, "kubectl wait returned on generation "
        + ready.getObservedGeneration() + " < " + generation);
  }

  /**
   * kubectl logs, through the API server to the node's kubelet: the last lines of a container, and a
   * follower that sees what is written after it started.
   */
  @Test
  @Order(5)
  void kubectlLogsReadsAContainersLogThroughTheApiServer() throws Exception {
    String pod = get("pg-async").getStatus().currentPrimary;
    // The init container's log no longer changes: its last lines are exactly the end of the whole.
    KubeTools.Result all = kubectl.kubectl("logs", "-n", NS, pod, "-c", "bootstrap");
    assertEquals(0, all.exit(), all.output());
    List<String> lines = all.output().lines().toList();
    assertTrue(lines.size() > 3, all.output());
    KubeTools.Result tail = kubectl.kubectl("logs", "-n", NS, pod, "-c", "bootstrap", "--tail=3");
    assertEquals(0, tail.exit(), tail.output());
    assertEquals(lines.subList(lines.size() - 3, lines.size()), tail.output().lines().toList());
    KubeTools.Result agent = kubectl.kubectl("logs", "-n", NS, pod, "-c", "agent");
    assertTrue(agent.output().contains("agent for " + pod + " started"), agent.output());
    KubeTools.Result postgres = kubectl.kubectl("logs", "-n", NS, pod, "-c", "postgres", "--limit-bytes=100");
    assertEquals(0, postgres.exit(), postgres.output());
    assertEquals(100, postgres.output().getBytes(java.nio.charset.StandardCharsets.UTF_8).length, postgres.output());
    KubeTools.Result missing = kubectl.kubectl("logs", "-n", NS, pod, "-c", "nonesuch");
    assertNotEquals(0, missing.exit(), missing.output());
  }

  private PgCluster get(String name) {
    return sandbox.client().resources(PgCluster.class).inNamespace(NS).withName(name).get();
  }

  /**
   * Two replicas, one leader. The leading replica's pod deleted as a drain or a rollout deletes it
   * (SIGTERM, 30 s grace period): it stops, releases the operator Lease and exits, so the other replica
   * leads at its next try and the pod is gone long before its grace period ends. Then the new leader is
   * killed (grace period 0, SIGKILL): the other replica leads once the Lease (4 s) has expired.
   */
  @Test
  @Order(6)
  void theOtherReplicaLeadsWhenTheLeaderGoes() throws Exception {
    String leader = sandbox.operatorLeader().orElseThrow();
    assertEquals(2, sandbox.operatorPods().size(), "two replicas");
    sandbox.client().pods().inNamespace(Sandbox.OPERATOR_NAMESPACE).withName(leader).delete();
    long stopped = System.nanoTime();
    String next = Await.until(Duration.ofSeconds(60), "another replica leading", () -> sandbox.operatorLeader()
        .orElse(leader), l -> !l.isEmpty() && !l.equals(leader));
    double handOver = (System.nanoTime() - stopped) / 1e9;
    Await.until(Duration.ofSeconds(60), "the stopped leader's pod gone", () -> sandbox.client().pods()
        .inNamespace(Sandbox.OPERATOR_NAMESPACE).withName(leader).get() == null);
    double exited = (System.nanoTime() - stopped) / 1e9;
    System.out.printf("operator leader %s deleted (SIGTERM): %s leads %.1f s later; the pod was gone after %.1f s%n",
        leader, next, handOver, exited);
    assertTrue(exited < 20, "the stopped operator exits by itself, well within its 30 s grace period: " + exited);
    assertTrue(sandbox.operatorLogs(leader).contains("released the operator Lease"),
        "the stopped leader released its Lease");

    sandbox.client().pods().inNamespace(Sandbox.OPERATOR_NAMESPACE).withName(next).withGracePeriod(0).delete();
    long killed = System.nanoTime();
    String third = Await.until(Duration.ofSeconds(60), "another replica leading after a kill",
        () -> sandbox.operatorLeader().orElse(next), l -> !l.isEmpty() && !l.equals(next));
    System.out.printf("operator leader %s killed: %s leads %.1f s later%n", next, third,
        (System.nanoTime() - killed) / 1e9);
    // The previous test scaled the example to 2 instances; applying it as written (3) is a spec change.
    String manifest = Files.readString(repo.resolve("examples/pgcluster-async.yaml"));
    String name = sandbox.client().resources(PgCluster.class).inNamespace(NS).list().getItems().get(0)
        .getMetadata().getName();
    assertEquals(2, get(name).getSpec().instances);
    assertEquals(0, kubectl.kubectlWithInput(manifest, "apply", "-n", NS, "-f", "-").exit());
    KubeTools.Result waited = kubectl.kubectl("wait", "-n", NS, "--for=jsonpath={.status.readyInstances}=3", "pgc/" + name,
        "--timeout=120s");
    assertEquals(0, waited.exit(), "the new leader reconciles a spec change: " + waited.output());
    Await.until(Duration.ofSeconds(60), "the Deployment back at 2 replicas",
        () -> sandbox.operatorPods().size() == 2 && !sandbox.operatorPods().stream()
            .anyMatch(p -> p.getMetadata().getName().equals(leader) || p.getMetadata().getName().equals(next)));
  }

  /** What of the status a user or GitOps tool watches, without the WAL positions that move on their own. */
  private static String statusShape(PgCluster c) {
    var st = c.getStatus();
    StringBuilder shape = new StringBuilder().append(st.phase).append(' ').append(st.currentPrimary).append(' ')
        .append(st.primaryEpoch).append(' ').append(st.observedGeneration).append(' ').append(st.readyInstances)
        .append(' ').append(st.synchronousStandbyNames);
    st.conditions.forEach(x -> shape.append(" | ").append(x.getType()).append('=').append(x.getStatus()).append(' ')
        .append(x.getReason()).append(' ').append(x.getLastTransitionTime()).append(' ').append(x.getObservedGeneration()));
    return shape.toString();
  }
}
