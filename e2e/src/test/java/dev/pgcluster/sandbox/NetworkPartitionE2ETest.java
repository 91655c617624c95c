package dev.pgcluster.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.sandbox.net.PodNetwork;
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

/**
 * Network partitions at the IP level (packets dropped both ways, nothing refused) on a synchronous
 * cluster (ANY 1 of 2, durability required) under the chaos writer and the two-writable-primaries
 * checker. Each partition shows what the operator must and must not do: fail over when the primary
 * lost its grant, stay put when the primary is healthy for its Lease and merely unreachable from some
 * side. After each: nothing acknowledged lost, never two writable primaries, all instances back.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class NetworkPartitionE2ETest {
  static final Duration HEAL = ChaosRounds.HEAL;
  static final String NS = "default";
  static final String NAME = "net";
  Sandbox sandbox;
  SandboxCluster cluster;
  ChaosHarness harness;
  ChaosRounds rounds;
  final List<String> tally = new ArrayList<>();

  @BeforeAll
  void start() throws Exception {
    cluster = SandboxCluster.start(NS, """
        apiVersion: pgcluster.dev/v1alpha1
        kind: PgCluster
        metadata:
          name: net
        spec:
          instances: 3
          storage:
            size: 1Gi
          replication:
            mode: sync
            number: 1
            durability: required
        """, 3, HEAL);
    sandbox = cluster.sandbox;
    harness = new ChaosHarness(cluster);
    harness.start();
    rounds = new ChaosRounds(cluster, harness, false);
  }

  @AfterAll
  void stop() throws Exception {
    tally.forEach(System.out::println);
    if (harness != null) {
      harness.close();
    }
    SandboxCluster.closeAndCheckNoLeftovers(sandbox);
  }

  @Test
  @Order(1)
  void primaryCutOffFromTheApiServerOnlyFencesItselfAndFailsOver() throws Exception {
    failsOver("primary cut off from the API server", primary -> sandbox.partition(NS, primary, sandbox.apiServer()));
  }

  @Test
  @Order(2)
  void primaryCutOffFromEverythingFailsOver() throws Exception {
    failsOver("primary cut off from everything", primary -> sandbox.partition(NS, primary,
        new PodNetwork.Peer.Everything()));
  }

  @Test
  @Order(3)
  void primaryCutOffFromTheStandbysOnlyStaysPrimary() throws Exception {
    staysPut("primary cut off from the standbys", primary -> {
      List<PodNetwork.Peer> standbys = standbys(primary).stream().map(s -> sandbox.pod(NS, s)).toList();
      return sandbox.partition(NS, primary, standbys.toArray(PodNetwork.Peer[]::new));
    }, false);
  }

  @Test
  @Order(4)
  void primaryCutOffFromClientsOnlyStaysPrimary() throws Exception {
    staysPut("primary cut off from clients", primary -> sandbox.partition(NS, primary,
        new PodNetwork.Peer.Clients()), false);
  }

  @Test
  @Order(5)
  void oneStandbyCutOffFromEverythingChangesNothingForWriters() throws Exception {
    staysPut("one standby cut off from everything", primary -> sandbox.partition(NS, standbys(primary).get(0),
        new PodNetwork.Peer.Everything()), true);
  }

  @Test
  @Order(6)
  void operatorCutOffFromThePodsButNotTheApiServerFencesNothing() throws Exception {
    String leader = sandbox.operatorLeader().orElseThrow();
    staysPut("operator cut off from the pods", primary -> {
      List<PodNetwork.Peer> pods = sandbox.client().pods().inNamespace(NS).withLabel("pgcluster.dev/cluster", NAME)
          .list().getItems().stream().map(p -> (PodNetwork.Peer) new PodNetwork.Peer.Pod(p.getStatus().getPodIP()))
          .toList();
      return sandbox.partition(Sandbox.OPERATOR_NAMESPACE, leader, pods.toArray(PodNetwork.Peer[]::new));
    }, true);
    // Held by the grant (its agent kept renewing), not by the durability rule that holds it under sync.
    String logs = sandbox.operatorLogs(leader);
    // A refused connection fails at once; the observation gives up on a probe only when nothing comes back.
    assertTrue(logs.contains("no answer within"), "the operator's probes went unanswered (dropped, not refused)");
    assertTrue(logs.contains("only the operator cannot reach it"), "the failover was held for the renewing grant");
  }

  interface Partition {
    PodNetwork.Cut cut(String primary) throws Exception;
  }

  /** The partition ends the primary's grant: a standby is promoted; healed after that. */
  private void failsOver(String name, Partition partition) throws Exception {
    PgCluster before = awaitHealed();
    String primary = before.getStatus().currentPrimary;
    long faultAt = System.nanoTime();
    PodNetwork.Cut cut = partition.cut(primary);
    double rto;
    try {
      rto = harness.secondsToFirstAckAfter(faultAt, 120);
      Await.until(HEAL, "a failover away from " + primary,
          () -> !primary.equals(cluster.get().getStatus().currentPrimary));
    } finally {
      sandbox.heal(cut);
    }
    PgCluster healed = awaitHealed();
    assertNotEquals(primary, healed.getStatus().currentPrimary, name + ": failed over");
    check(name, rto, "failed over to " + healed.getStatus().currentPrimary);
  }

  /**
   * The primary keeps its grant: no failover, its pod is not deleted. With {@code writesGoOn}, the
   * writer keeps committing throughout (checked in the middle of the partition).
   */
  private void staysPut(String name, Partition partition, boolean writesGoOn) throws Exception {
    PgCluster before = awaitHealed();
    String primary = before.getStatus().currentPrimary;
    String uid = sandbox.client().pods().inNamespace(NS).withName(primary).get().getMetadata().getUid();
    int acked = harness.acknowledged.size();
    long faultAt = System.nanoTime();
    PodNetwork.Cut cut = partition.cut(primary);
    try {
      // Long enough for three failed probes, a lease of 5 s and a failover, had the operator wanted one.
      Thread.sleep(15_000);
      int during = harness.acknowledged.size();
      if (writesGoOn) {
        Thread.sleep(1_000);
        assertTrue(harness.acknowledged.size() > during, name + ": writes stopped during the partition");
      }
      PgCluster seen = cluster.get();
      assertEquals(primary, seen.getStatus().currentPrimary, name + ": the primary changed"
          + (seen.getStatus().lastPrimaryChange == null ? "" : " (" + seen.getStatus().lastPrimaryChange.reason + ")"));
      assertEquals(uid, sandbox.client().pods().inNamespace(NS).withName(primary).get().getMetadata().getUid(),
          name + ": the primary's pod was deleted (fenced) while it held its grant");
      assertTrue(during >= acked, "acknowledged ids only grow");
    } finally {
      sandbox.heal(cut);
    }
    double rto = harness.secondsToFirstAckAfter(faultAt, 120);
    PgCluster healed = awaitHealed();
    assertEquals(primary, healed.getStatus().currentPrimary, name + ": the primary changed after the heal");
    check(name, rto, "no failover");
  }

  private void check(String name, double rto, String outcome) throws Exception {
    assertEquals(List.of(), harness.lostWrites(), name + ": acknowledged commits lost");
    assertEquals(0, harness.splitBrainMoments.get(), name + ": two writable primaries seen"
        + harness.splitBrainReport());
    tally.add(String.format("partition %-40s %s; first write after the fault %.1f s; acknowledged so far %d, lost 0,"
        + " two-writable moments 0", name, outcome, rto, harness.acknowledged.size()));
  }

  private List<String> standbys(String primary) {
    return rounds.standbys(primary);
  }

  private PgCluster awaitHealed() throws InterruptedException {
    return rounds.awaitHealed();
  }
}
