package dev.pgcluster.sandbox;

import static dev.pgcluster.sandbox.SandboxCluster.one;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.operator.api.v1alpha1.RewindStatus;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Under async replication a failover may lose acknowledged commits; the operator says exactly how
 * many once the former primary rejoins: its init container reads the WAL past the fork point before
 * pg_rewind discards it, keeps it, and the count lands in status.lastPrimaryChange.rewind.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RealisedLossE2ETest {
  static final String NS = "loss";
  Sandbox sandbox;
  SandboxCluster pg;

  @BeforeAll
  void startCluster() throws Exception {
    pg = SandboxCluster.start(NS, """
        apiVersion: pgcluster.dev/v1alpha1
        kind: PgCluster
        metadata:
          name: pg
        spec:
          instances: 3
          storage:
            size: 1Gi
        """, 3, Duration.ofSeconds(120));
    sandbox = pg.sandbox;
  }

  @AfterAll
  void stop() {
    SandboxCluster.closeAndCheckNoLeftovers(sandbox);
  }

  @Test
  void theTransactionsAnAsyncFailoverLostAreCountedWhenTheFormerPrimaryRejoins() throws Exception {
    String old = pg.get().getStatus().currentPrimary;
    String oldIp = sandbox.podIp(NS, old);
    try (Connection c = pg.toPod(old); Statement s = c.createStatement()) {
      s.execute("CREATE TABLE acked (id int primary key)");
    }
    for (String standby : java.util.List.of("pg-0", "pg-1", "pg-2")) {
      if (!standby.equals(old)) {
        Await.until(Duration.ofSeconds(30), "the table on " + standby, () -> {
          try (Connection c = pg.toPod(standby)) {
            return "t".equals(one(c, "SELECT to_regclass('acked') IS NOT NULL"));
          }
        });
      }
    }
    // The standbys stream through -rw: taking the primary out of the Service network cuts them off while
    // clients on its own address still commit (asynchronously: acknowledged at once).
    sandbox.cutOff(NS, old);
    Await.until(Duration.ofSeconds(30), "no standby streaming from " + old, () -> {
      try (Connection c = pg.toPod(old)) {
        return "0".equals(one(c, "SELECT count(*) FROM pg_stat_replication"));
      }
    });
    int unreplicated = 5;
    try (Connection c = pg.toPod(old); Statement s = c.createStatement()) {
      for (int id = 1; id <= unreplicated; id++) {
        s.execute("INSERT INTO acked VALUES (" + id + ")");
      }
    }
    int epoch = pg.get().getStatus().primaryEpoch;
    sandbox.loseNode(NS, old);
    PgCluster promoted = Await.until(Duration.ofSeconds(60), "a promoted primary", pg::get,
        c -> c.getStatus().primaryEpoch > epoch && c.getStatus().lastPrimaryChange.promotedAt != null);
    String next = promoted.getStatus().currentPrimary;
    try (Connection c = pg.toPod(next)) {
      assertEquals("0", one(c, "SELECT count(*) FROM acked"), "the unreplicated commits are not on " + next);
    }
    sandbox.reconnectAddress(oldIp);
    sandbox.restoreLostNodes();
    PgCluster rejoined = Await.until(Duration.ofSeconds(120), "the rewind recorded", pg::get,
        c -> c.getStatus().lastPrimaryChange != null && c.getStatus().lastPrimaryChange.rewind != null);
    RewindStatus rewind = rejoined.getStatus().lastPrimaryChange.rewind;
    System.out.printf("failover %s -> %s under async: %s%n", old, next, rewind.describe());
    assertEquals(old, rewind.instance);
    assertNotNull(rewind.forkPoint);
    assertTrue(rewind.transactions >= unreplicated, "the " + unreplicated + " acknowledged commits that never reached a"
        + " standby are counted: " + rewind.describe());
    assertTrue(rewind.bytes > 0 && rewind.firstCommit != null && rewind.lastCommit != null, rewind.describe());
    assertTrue(sandbox.client().v1().events().inNamespace(NS).list().getItems().stream()
        .anyMatch(e -> "TransactionsDiscarded".equals(e.getReason()) && e.getMessage().contains(old)));
    pg.awaitReadyInstances(3, Duration.ofSeconds(120));
  }
}
