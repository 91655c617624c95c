package dev.pgcluster.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.sandbox.controlplane.ControlPlaneBuild;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.Pod;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The upgrade as docs/install.md tells it: the CRDs applied server-side over the ones Helm installed,
 * then {@code helm upgrade --reset-then-reuse-values} with a new image tag. The operator's pods are replaced, and
 * every instance's pod rolls to the new agent image, the primary by a switchover (no failover), the
 * cluster Healthy again.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class UpgradeE2ETest {
  static final String NS = "default";
  static final Path REPO = ControlPlaneBuild.repositoryRoot();
  SandboxCluster cluster;
  Sandbox sandbox;

  @BeforeAll
  void start() throws Exception {
    cluster = SandboxCluster.start(NS, """
        apiVersion: pgcluster.dev/v1alpha1
        kind: PgCluster
        metadata:
          name: up
        spec:
          instances: 2
          storage:
            size: 1Gi
        """, 2, Duration.ofSeconds(120));
    sandbox = cluster.sandbox;
  }

  @AfterAll
  void stop() {
    SandboxCluster.closeAndCheckNoLeftovers(sandbox);
  }

  @Test
  void theDocumentedUpgradeRollsTheOperatorAndEveryInstanceWithoutAFailover() throws Exception {
    KubeTools tools = new KubeTools(sandbox.kubeconfig());
    KubeTools.Result crds = tools.kubectl("apply", "--server-side", "--force-conflicts",
        "-f", REPO.resolve("crds/pgclusters.pgcluster.dev-v1.yml").toString(),
        "-f", REPO.resolve("crds/pgbackups.pgcluster.dev-v1.yml").toString());
    assertEquals(0, crds.exit(), crds.output());
    KubeTools.Result upgrade = KubeTools.helm("upgrade", "pgcluster-operator", REPO.resolve("helm/pgcluster-operator")
        .toString(), "-n", Sandbox.OPERATOR_NAMESPACE, "--kubeconfig", sandbox.kubeconfig().toString(), "--reset-then-reuse-values",
        "--set", "image.tag=next");
    assertEquals(0, upgrade.exit(), upgrade.output());

    Await.untilTrue(Duration.ofSeconds(120), "the operator's pods replaced by the new image, one Ready", () -> {
      List<Pod> pods = sandbox.operatorPods();
      return !pods.isEmpty() && pods.stream().allMatch(p -> image(p, "operator").endsWith(":next"))
          && pods.stream().anyMatch(p -> p.getStatus().getConditions().stream()
              .anyMatch(c -> "Ready".equals(c.getType()) && "True".equals(c.getStatus())));
    });
    PgCluster after = Await.until(Duration.ofSeconds(300), "both instances on the new agent image, Healthy",
        cluster::get, c -> c.getStatus() != null && c.getStatus().phase != null
            && "Healthy".equals(c.getStatus().phase.name()) && c.getStatus().readyInstances == 2 && instancePods().stream()
                .allMatch(p -> image(p, "agent").endsWith(":next")) && instancePods().size() == 2);
    assertTrue(sandbox.client().v1().events().inNamespace(NS).list().getItems().stream()
        .noneMatch(e -> "FailoverStarted".equals(e.getReason())), "the primary moved by a switchover, not a failover");
    cluster.awaitWritable();
    assertTrue(after.getStatus().currentPrimary != null);
  }

  private List<Pod> instancePods() {
    return sandbox.client().pods().inNamespace(NS).withLabel("pgcluster.dev/cluster", "up").list().getItems();
  }

  private static String image(Pod pod, String container) {
    return pod.getSpec().getContainers().stream().filter(c -> c.getName().equals(container)).map(Container::getImage)
        .findFirst().orElse("");
  }
}
