package dev.pgcluster.sandbox;

import static dev.pgcluster.sandbox.SandboxCluster.column;
import static dev.pgcluster.sandbox.SandboxCluster.one;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgcluster.operator.api.v1alpha1.Durability;
import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import io.fabric8.kubernetes.api.model.Condition;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Synchronous replication, ANY 1 of 2 standbys, on real PostgreSQL: an acknowledged commit is on a
 * standby; with both standbys gone, commits wait under durability required and go on under preferred,
 * with the status saying which; when the standbys return, replication is synchronous again.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SynchronousReplicationE2ETest {
  static final Duration READY = Duration.ofSeconds(120);
  static final String NS = "default";
  Sandbox sandbox;
  SandboxCluster sync;
  final AtomicInteger ids = new AtomicInteger();

  @BeforeAll
  void startCluster() throws Exception {
    sync = SandboxCluster.start(NS, """
        apiVersion: pgcluster.dev/v1alpha1
        kind: PgCluster
        metadata:
          name: sync
        spec:
          instances: 3
          storage:
            size: 1Gi
          replication:
            mode: sync
            method: any
            number: 1
            durability: required
        """, 3, READY);
    sandbox = sync.sandbox;
    try (Connection rw = sync.viaService("sync-rw"); Statement s = rw.createStatement()) {
      s.execute("CREATE TABLE ledger (id int primary key, note text)");
    }
  }

  @AfterAll
  void stop() {
    SandboxCluster.closeAndCheckNoLeftovers(sandbox);
  }

  @Test
  @Order(1)
  void quorumOverBothStandbysAndAnAcknowledgedCommitIsOnAStandby() throws Exception {
    try (Connection primary = sync.toPod("sync-0")) {
      Await.until(Duration.ofSeconds(30), "operator-set synchronous_standby_names",
          () -> one(primary, "SHOW synchronous_standby_names"), "ANY 1 (\"sync-1\", \"sync-2\")"::equals);
      Await.until(Duration.ofSeconds(30), "both standbys quorum candidates",
          () -> column(primary, "SELECT sync_state FROM pg_stat_replication ORDER BY application_name"),
          List.of("quorum", "quorum")::equals);
      for (int i = 0; i < 20; i++) {
        String commitLsn;
        try (Statement s = primary.createStatement()) {
          s.execute("INSERT INTO ledger VALUES (" + ids.incrementAndGet() + ", 'acknowledged')");
          commitLsn = one(primary, "SELECT pg_current_wal_lsn()");
        }
        // Right after the acknowledgement, no waiting: at least one standby has flushed the commit.
        int onStandby = 0;
        for (String pod : List.of("sync-1", "sync-2")) {
          try (Connection standby = sync.toPod(pod)) {
            if ("t".equals(one(standby, "SELECT pg_last_wal_receive_lsn() >= '" + commitLsn + "'::pg_lsn"))) {
              onStandby++;
            }
          }
        }
        assertTrue(onStandby >= 1, "commit " + i + " at " + commitLsn + " acknowledged but on no standby");
      }
    }
    assertEquals("ANY 1 (\"sync-1\", \"sync-2\")", sync.get().getStatus().synchronousStandbyNames);
  }

  @Test
  @Order(2)
  void requiredDurabilityMakesCommitsWaitWithoutStandbys() throws Exception {
    loseBothStandbys();
    try (Connection rw = sync.viaService("sync-rw")) {
      CompletableFuture<Void> write = insertAsync(rw, "waits for a standby");
      try {
        write.get(5, TimeUnit.SECONDS);
        throw new AssertionError("a commit was acknowledged with no synchronous standby under durability required");
      } catch (TimeoutException expected) {
        // Waiting, as PostgreSQL does.
      }
      Condition degraded = Await.until(Duration.ofSeconds(30), "Degraded/SynchronousStandbysMissing",
          () -> degraded(sync.get()), c -> c != null && "SynchronousStandbysMissing".equals(c.getReason()));
      assertTrue(degraded.getMessage().contains("commits wait"), degraded.getMessage());
      bringStandbysBack();
      write.get(120, TimeUnit.SECONDS);
    }
    sync.awaitReadyInstances(3, READY);
    Await.until(Duration.ofSeconds(30), "no longer degraded", () -> degraded(sync.get()),
        c -> c != null && "False".equals(c.getStatus()));
  }

  @Test
  @Order(3)
  void preferredDurabilityStaysWritableAndRestoresTheQuorum() throws Exception {
    sandbox.editCluster(NS, "sync", c -> {
      c.getSpec().replication.durability = Durability.PREFERRED;
      return c;
    });
    loseBothStandbys();
    try (Connection rw = sync.viaService("sync-rw")) {
      // The first commit may wait until the operator notices (about a probe period), then it goes through.
      insertAsync(rw, "written without standbys").get(30, TimeUnit.SECONDS);
      Condition degraded = Await.until(Duration.ofSeconds(30), "Degraded/SynchronousQuorumReduced",
          () -> degraded(sync.get()), c -> c != null && "SynchronousQuorumReduced".equals(c.getReason()));
      assertTrue(degraded.getMessage().contains("replicating asynchronously"), degraded.getMessage());
      assertEquals("", one(rw, "SHOW synchronous_standby_names"));
      insertAsync(rw, "still writable").get(5, TimeUnit.SECONDS);
    }
    bringStandbysBack();
    sync.awaitReadyInstances(3, READY);
    try (Connection primary = sync.toPod("sync-0")) {
      Await.until(Duration.ofSeconds(30), "quorum restored", () -> one(primary, "SHOW synchronous_standby_names"),
          "ANY 1 (\"sync-1\", \"sync-2\")"::equals);
    }
    assertFalse("True".equals(degraded(sync.get()).getStatus()));
  }

  /** The seeds' strong consistency: ANY 2 of 2, every acknowledged commit is on both standbys. */
  @Test
  @Order(4)
  void anyTwoPutsEveryAcknowledgedCommitOnBothStandbys() throws Exception {
    sandbox.editCluster(NS, "sync", c -> {
      c.getSpec().replication.durability = Durability.REQUIRED;
      c.getSpec().replication.number = 2;
      return c;
    });
    try (Connection primary = sync.toPod("sync-0")) {
      Await.until(Duration.ofSeconds(30), "ANY 2", () -> one(primary, "SHOW synchronous_standby_names"),
          "ANY 2 (\"sync-1\", \"sync-2\")"::equals);
      for (int i = 0; i < 10; i++) {
        String commitLsn;
        try (Statement s = primary.createStatement()) {
          s.execute("INSERT INTO ledger VALUES (" + ids.incrementAndGet() + ", 'any 2')");
          commitLsn = one(primary, "SELECT pg_current_wal_lsn()");
        }
        for (String pod : List.of("sync-1", "sync-2")) {
          try (Connection standby = sync.toPod(pod)) {
            assertEquals("t", one(standby, "SELECT pg_last_wal_receive_lsn() >= '" + commitLsn + "'::pg_lsn"),
                "commit at " + commitLsn + " acknowledged but not on " + pod);
          }
        }
      }
    }
  }

  private CompletableFuture<Void> insertAsync(Connection rw, String note) {
    int id = ids.incrementAndGet();
    return CompletableFuture.runAsync(() -> {
      try (Statement s = rw.createStatement()) {
        s.execute("INSERT INTO ledger VALUES (" + id + ", '" + note + "')");
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
  }

  private void loseBothStandbys() throws Exception {
    sandbox.loseNode(NS, "sync-1");
    sandbox.loseNode(NS, "sync-2");
    try (Connection primary = sync.toPod("sync-0")) {
      Await.until(Duration.ofSeconds(30), "no standby connected",
          () -> one(primary, "SELECT count(*) FROM pg_stat_replication"), "0"::equals);
    }
  }

  /** Their nodes come back (as after a reboot): the kubelets run the pods bound to them again. */
  private void bringStandbysBack() {
    sandbox.restoreLostNodes();
  }

  private static Condition degraded(PgCluster cluster) {
    return cluster.getStatus().conditions.stream().filter(c -> "Degraded".equals(c.getType())).findFirst()
        .orElse(null);
  }
}
