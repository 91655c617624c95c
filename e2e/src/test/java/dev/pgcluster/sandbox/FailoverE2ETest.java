package dev.pgcluster.sandbox;

import static dev.pgcluster.sandbox.SandboxCluster.one;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import java.nio.file.Files;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Automated failover on real PostgreSQL: the primary's node is lost, the most advanced standby is
 * promoted through the Lease, writes resume through -rw, and the former primary rejoins as a standby
 * through pg_rewind. Synchronous, durability required: every acknowledged row survives.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class FailoverE2ETest {
  static final Duration READY = Duration.ofSeconds(120);
  static final String NS = "default";
  Sandbox sandbox;
  SandboxCluster ha;

  @BeforeAll
  void startCluster() throws Exception {
    ha = SandboxCluster.start(NS, """
        apiVersion: pgcluster.dev/v1alpha1
        kind: PgCluster
        metadata:
          name: ha
        spec:
          instances: 3
          storage:
            size: 1Gi
          walStorage:
            size: 1Gi
          replication:
            mode: sync
            number: 1
            durability: required
        """, 3, READY);
    sandbox = ha.sandbox;
    try (Connection rw = ha.viaService("ha-rw"); Statement s = rw.createStatement()) {
      s.execute("CREATE TABLE acked (id int primary key)");
    }
  }

  @AfterAll
  void stop() {
    SandboxCluster.closeAndCheckNoLeftovers(sandbox);
  }

  @Test
  @Order(1)
  void lostPrimaryNodeFailsOverAndTheFormerPrimaryRejoinsThroughRewind() throws Exception {
    int acknowledged = 0;
    try (Connection rw = ha.viaService("ha-rw"); Statement s = rw.createStatement()) {
      for (; acknowledged < 50; acknowledged++) {
        s.execute("INSERT INTO acked VALUES (" + acknowledged + ")");
      }
    }
    String oldPrimary = ha.get().getStatus().currentPrimary;
    long failedAt = System.nanoTime();
    sandbox.loseNode(NS, oldPrimary);

    PgCluster after = Await.until(Duration.ofSeconds(60), "a new primary", ha::get,
        c -> c.getStatus().currentPrimary != null && !c.getStatus().currentPrimary.equals(oldPrimary));
    String newPrimary = after.getStatus().currentPrimary;
    Await.until(Duration.ofSeconds(60), "a write through -rw", () -> {
      try (Connection rw = ha.viaService("ha-rw"); Statement s = rw.createStatement()) {
        s.execute("SET statement_timeout = '3s'");
        s.execute("INSERT INTO acked VALUES (1000)");
        return true;
      }
    });
    double rto = (System.nanoTime() - failedAt) / 1e9;
    System.out.printf("failover %s -> %s: first acknowledged write through -rw after %.1f s%n", oldPrimary, newPrimary,
        rto);

    // The fenced primary's pod is created again at once, and may be bound to the lost node before the
    // node-lifecycle controller marks it NotReady; it runs when the node comes back, as after a reboot.
    sandbox.restoreLostNodes();
    PgCluster healed = ha.awaitReadyInstances(3, READY);
    assertEquals(newPrimary, healed.getStatus().currentPrimary);
    assertEquals(1, healed.getStatus().primaryEpoch);
    assertEquals(oldPrimary, healed.getStatus().lastPrimaryChange.from);
    assertTrue(healed.getStatus().lastPrimaryChange.promotionSeconds != null
        && healed.getStatus().lastPrimaryChange.promotionSeconds < 30, "promotion step recorded");
    try (Connection primary = ha.toPod(newPrimary)) {
      assertEquals(Integer.toString(acknowledged + 1), one(primary, "SELECT count(*) FROM acked"),
          "every acknowledged row survives");
      Await.until(Duration.ofSeconds(60), "the former primary streaming", () -> one(primary,
          "SELECT state FROM pg_stat_replication WHERE application_name = '" + oldPrimary + "'"), "streaming"::equals);
    }
    try (Connection former = ha.toPod(oldPrimary)) {
      assertEquals("t", one(former, "SELECT pg_is_in_recovery()"));
    }
    String bootstrap = Files.readString(sandbox.podLogs(NS, oldPrimary).resolve("bootstrap.log"));
    assertTrue(bootstrap.contains("pg_rewind succeeded") || bootstrap.contains("clone complete"), bootstrap);
    assertNotEquals(oldPrimary, newPrimary);
    // Rewound (or cloned afresh), the former primary's WAL stays on its WAL volume (spec.walStorage).
    ha.assertWalOnItsVolume(oldPrimary);
  }

  /**
   * Switchover declared in the resource, under a writer: the target becomes primary, no acknowledged
   * write is lost, the old primary rejoins as a standby, and the same request id is not done twice.
   */
  @Test
  @Order(2)
  void switchoverOnRequestUnderWrites() throws Exception {
    ha.awaitReadyInstances(3, READY);
    String from = ha.get().getStatus().currentPrimary;
    String target = java.util.stream.Stream.of("ha-0", "ha-1", "ha-2").filter(p -> !p.equals(from)).findFirst()
        .orElseThrow();
    try (ChaosHarness writer = new ChaosHarness(ha)) {
      writer.start();
      Thread.sleep(1000);
      writer.resetGap();
      sandbox.editCluster(NS, "ha", c -> {
        c.getSpec().switchover = new dev.pgcluster.operator.api.v1alpha1.SwitchoverSpec();
        c.getSpec().switchover.target = target;
        c.getSpec().switchover.id = "maintenance-1";
        return c;
      });
      Await.until(Duration.ofSeconds(60), "the switchover to " + target,
          () -> target.equals(ha.get().getStatus().currentPrimary));
      long since = System.nanoTime();
      writer.secondsToFirstAckAfter(since - 1, 60);
      Thread.sleep(1000);
      System.out.printf("switchover %s -> %s: longest write gap %.2f s%n", from, target,
          writer.longestGapNanos.get() / 1e9);
      PgCluster healed = ha.awaitReadyInstances(3, READY);
      assertEquals(target, healed.getStatus().currentPrimary);
      assertTrue(healed.getStatus().lastPrimaryChange.reason.contains("switchover maintenance-1"),
          healed.getStatus().lastPrimaryChange.reason);
      Await.until(Duration.ofSeconds(60), "the old primary streaming", () -> {
        try (Connection p = ha.toPod(target)) {
          return "streaming".equals(one(p, "SELECT state FROM pg_stat_replication WHERE application_name = '"
              + from + "'"));
        }
      });
      assertEquals(java.util.List.of(), writer.lostWrites(), "acknowledged writes lost in the switchover");
      int epoch = healed.getStatus().primaryEpoch;
      Thread.sleep(3000);
      assertEquals(epoch, ha.get().getStatus().primaryEpoch, "the same switchover id was done twice");
    }
  }

  /**
   * The fence is a pod deletion, and a node cut off from the API server does not carry it out: the
   * old primary, frozen during the failover with its agent (a hung node: its agent, left running,
   * would have stopped it) and thawed after the promotion without it, runs on as a primary. It must
   * not be able to acknowledge a commit: the standbys were cut off from it before the promotion and
   * follow the new primary.
   */
  @Test
  @Order(3)
  void aFormerPrimaryStillRunningAfterThePromotionCannotAcknowledgeACommit() throws Exception {
    ha.awaitReadyInstances(3, READY);
    String old = ha.get().getStatus().currentPrimary;
    int epoch = ha.get().getStatus().primaryEpoch;
    String oldIp = sandbox.podIp(NS, old);
    String superuser = ha.password(ha.names.superuserSecret());
    String uid = null;
    try (Connection session = SandboxCluster.connect(oldIp, "app", "postgres", superuser, 5, 5)) {
      uid = sandbox.partitionNode(NS, old);
      sandbox.freezeContainer(NS, old, "agent");
      sandbox.freezeContainer(NS, old, "postgres");
      PgCluster promoted = Await.until(Duration.ofSeconds(60), "a new primary, promoted", ha::get,
          c -> c.getStatus().primaryEpoch > epoch && c.getStatus().lastPrimaryChange != null
              && c.getStatus().lastPrimaryChange.promotedAt != null);
      sandbox.thawContainerIfRunning(NS, old, "postgres");
      try (Connection zombie = SandboxCluster.connect(oldIp, "app", "postgres", superuser, 5, 5)) {
        assertEquals("f", one(zombie, "SELECT pg_is_in_recovery()"), "the old primary runs on as a primary");
        assertEquals("0", one(zombie, "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'"),
            "no standby streams from the old primary any more");
      }
      java.sql.SQLException timedOut = org.junit.jupiter.api.Assertions.assertThrows(java.sql.SQLException.class,
          () -> session.createStatement().execute("INSERT INTO acked VALUES (5000)"),
          "a commit on the old primary was acknowledged after " + promoted.getStatus().currentPrimary + " was promoted");
      System.out.printf("old primary %s thawed after the promotion of %s: its commit waits, unacknowledged (%s)%n", old,
          promoted.getStatus().currentPrimary, timedOut.getMessage());
    } finally {
      sandbox.thawContainerIfRunning(NS, old, "postgres");
      sandbox.thawContainerIfRunning(NS, old, "agent");
      if (uid != null) {
        sandbox.healPartition(uid);
      }
    }
    PgCluster healed = ha.awaitReadyInstances(3, READY);
    try (Connection primary = ha.toPod(healed.getStatus().currentPrimary)) {
      assertEquals("0", one(primary, "SELECT count(*) FROM acked WHERE id = 5000"));
    }
  }
}
