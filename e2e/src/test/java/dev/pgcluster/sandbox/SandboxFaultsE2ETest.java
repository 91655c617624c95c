package dev.pgcluster.sandbox;

import static dev.pgcluster.sandbox.SandboxCluster.one;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.Pod;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/** The sandbox's faults do what they say to real processes, and the kubelet reacts as a kubelet does. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SandboxFaultsE2ETest {
  static final Duration READY = Duration.ofSeconds(120);
  Sandbox sandbox;
  SandboxCluster faults;

  @BeforeAll
  void startCluster() throws Exception {
    sandbox = Sandbox.start();
    sandbox.installOperator();
    sandbox.apply("default", """
        apiVersion: pgcluster.dev/v1alpha1
        kind: PgCluster
        metadata:
          name: faults
        spec:
          instances: 2
          storage:
            size: 1Gi
        """);
    faults = new SandboxCluster(sandbox, "default", "faults");
    faults.awaitReadyInstances(2, READY);
  }

  @AfterAll
  void stop() {
    SandboxCluster.closeAndCheckNoLeftovers(sandbox);
  }

  @Test
  @Order(1)
  void killedContainerIsRestartedByTheKubelet() throws Exception {
    Long before = sandbox.kubeletPid("default", "faults-1", "postgres");
    sandbox.killContainer("default", "faults-1", "postgres");
    Await.until(READY, "faults-1 postgres restarted", () -> restarts("faults-1") == 1 && ready("faults-1"));
    assertTrue(!before.equals(sandbox.kubeletPid("default", "faults-1", "postgres")), "a new process");
    faults.awaitReadyInstances(2, READY);
  }

  @Test
  @Order(2)
  void frozenContainerTurnsNotReadyAndThawedReadyAgain() throws Exception {
    sandbox.freezeContainer("default", "faults-1", "postgres");
    Await.until(Duration.ofSeconds(30), "frozen faults-1 not ready", () -> !ready("faults-1"));
    sandbox.thawContainer("default", "faults-1", "postgres");
    Await.until(Duration.ofSeconds(30), "thawed faults-1 ready", () -> ready("faults-1"));
    assertEquals(1, restarts("faults-1"), "a freeze shorter than the liveness budget restarts nothing");
  }

  @Test
  @Order(3)
  void cutOffPodGetsNoServiceTraffic() throws Exception {
    sandbox.cutOff("default", "faults-1");
    // -ro selects only faults-1: with it cut off, -ro has no endpoint and refuses connections.
    Await.until(Duration.ofSeconds(10), "-ro without endpoints", () -> {
      try (Connection c = faults.viaService("faults-ro")) {
        return false;
      } catch (SQLException e) {
        return true;
      }
    });
    try (Connection direct = faults.toPod("faults-1")) {
      assertEquals("t", one(direct, "SELECT pg_is_in_recovery()"), "the pod itself still runs");
    }
    sandbox.reconnect("default", "faults-1");
    Await.until(Duration.ofSeconds(10), "-ro back", () -> {
      try (Connection c = faults.viaService("faults-ro")) {
        return "t".equals(one(c, "SELECT pg_is_in_recovery()"));
      }
    });
  }

  /**
   * A lost node, as on a real cluster: its processes are gone, the node-lifecycle controller marks the
   * node NotReady and the pod not ready once the node's Lease is stale; a graceful deletion stays pending
   * (nobody confirms it) and the StatefulSet controller does not replace the pod; only a force deletion
   * frees the name, and the new pod runs on another node.
   */
  @Test
  @Order(4)
  void lostNodeIsNoticedAndItsPodReplacedOnlyAfterAForceDeletion() throws Exception {
    String ip = sandbox.podIp("default", "faults-1");
    String uid = pod("faults-1").getMetadata().getUid();
    String node = sandbox.loseNode("default", "faults-1");
    assertThrows(SQLException.class, () -> SandboxCluster.connect(ip, "app", "postgres",
        faults.password(faults.names.superuserSecret())));
    long lost = System.nanoTime();
    Await.until(Duration.ofSeconds(30), "node " + node + " NotReady", () -> sandbox.client().nodes().withName(node)
        .get().getStatus().getConditions().stream().anyMatch(c -> "Ready".equals(c.getType())
            && !"True".equals(c.getStatus())));
    Await.until(Duration.ofSeconds(30), "faults-1 marked not ready", () -> !ready("faults-1"));
    System.out.printf("node %s NotReady and its pod not ready %.1f s after it was lost%n", node,
        (System.nanoTime() - lost) / 1e9);
    sandbox.deletePod("default", "faults-1");
    Thread.sleep(5000);
    Pod stuck = pod("faults-1");
    assertNotNull(stuck, "a graceful deletion on a lost node is never confirmed");
    assertEquals(uid, stuck.getMetadata().getUid(), "not replaced while the old pod may still run");
    assertNotNull(stuck.getMetadata().getDeletionTimestamp());
    sandbox.client().pods().inNamespace("default").withName("faults-1").withGracePeriod(0).delete();
    Await.until(READY, "a new faults-1", () -> pod("faults-1") != null && !uid.equals(pod("faults-1").getMetadata().getUid()));
    faults.awaitReadyInstances(2, READY);
    assertNotEquals(node, pod("faults-1").getSpec().getNodeName(), "scheduled away from the lost node");
    sandbox.restoreLostNodes();
  }

  private Pod pod(String name) {
    return sandbox.client().pods().inNamespace("default").withName(name).get();
  }

  private int restarts(String name) {
    Pod p = pod(name);
    return p == null || p.getStatus() == null || p.getStatus().getContainerStatuses() == null ? -1
        : p.getStatus().getContainerStatuses().get(0).getRestartCount();
  }

  private boolean ready(String name) {
    Pod p = pod(name);
    return p != null && p.getStatus() != null && p.getStatus().getConditions() != null
        && p.getStatus().getConditions().stream().anyMatch(c -> "Ready".equals(c.getType()) && "True".equals(c.getStatus()));
  }
}
