package dev.pgcluster.sandbox;

import static dev.pgcluster.sandbox.SandboxCluster.one;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.operator.api.v1alpha1.SwitchoverSpec;
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
 * The record of who is primary survives its own loss, tried as a new user would, with a primary that
 * is not ordinal 0: its Lease edited by hand, deleted by hand, and the PgCluster deleted (volumes kept)
 * and applied again under the same name, then all of that with the Lease deleted too.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PrimaryRecordE2ETest {
  static final String NS = "record";
  static final String MANIFEST = """
      apiVersion: pgcluster.dev/v1alpha1
      kind: PgCluster
      metadata:
        name: pg
      spec:
        instances: 3
        storage:
          size: 1Gi
      """;
  Sandbox sandbox;
  SandboxCluster pg;
  KubeTools kubectl;

  @BeforeAll
  void startCluster() throws Exception {
    pg = SandboxCluster.start(NS, MANIFEST, 3, Duration.ofSeconds(120));
    sandbox = pg.sandbox;
    kubectl = new KubeTools(sandbox.kubeconfig());
    sandbox.editCluster(NS, "pg", c -> {
      c.getSpec().switchover = new SwitchoverSpec();
      c.getSpec().switchover.target = "pg-1";
      c.getSpec().switchover.id = "move-off-ordinal-0";
      return c;
    });
    Await.until(Duration.ofSeconds(60), "pg-1 primary", pg::get, c -> "pg-1".equals(c.getStatus().currentPrimary));
    pg.awaitReadyInstances(3, Duration.ofSeconds(120));
    try (Connection c = pg.toPod("pg-1"); Statement s = c.createStatement()) {
      s.execute("CREATE TABLE kept (id int)");
      s.execute("INSERT INTO kept VALUES (1)");
    }
  }

  @AfterAll
  void stop() {
    SandboxCluster.closeAndCheckNoLeftovers(sandbox);
  }

  @Test
  @Order(1)
  void aHolderEditedByHandIsPutBackWithoutAFailover() throws Exception {
    int epoch = pg.get().getStatus().primaryEpoch;
    KubeTools.Result edited = kubectl.kubectl("patch", "lease", "pg-primary", "-n", NS, "--type=merge", "-p",
        "{\"spec\":{\"holderIdentity\":\"pg-2\"}}");
    assertEquals(0, edited.exit(), edited.output());
    Await.until(Duration.ofSeconds(30), "holderIdentity put back", () -> "pg-1".equals(sandbox.client().leases()
        .inNamespace(NS).withName("pg-primary").get().getSpec().getHolderIdentity()));
    // The event follows the write that put the holder back.
    Await.until(Duration.ofSeconds(10), "the edit reported", () -> events("PrimaryLeaseEdited"));
    writeOn("pg-1", 2);
    assertEquals(epoch, pg.get().getStatus().primaryEpoch, "no failover");
    assertEquals("pg-1", pg.get().getStatus().currentPrimary);
  }

  @Test
  @Order(2)
  void aLeaseDeletedByHandIsRebuiltNamingTheRunningPrimary() throws Exception {
    assertEquals(0, kubectl.kubectl("delete", "lease", "pg-primary", "-n", NS).exit());
    Await.until(Duration.ofSeconds(30), "the Lease rebuilt", () -> {
      var lease = sandbox.client().leases().inNamespace(NS).withName("pg-primary").get();
      return lease != null && "pg-1".equals(lease.getSpec().getHolderIdentity());
    });
    Await.until(Duration.ofSeconds(10), "the rebuild reported", () -> events("PrimaryRecordRebuilt"));
    writeOn("pg-1", 3);
    PgCluster after = pg.awaitReadyInstances(3, Duration.ofSeconds(60));
    assertEquals("pg-1", after.getStatus().currentPrimary);
  }

  /** Deleted and applied again: the kept Lease and Secrets find the same primary and the same passwords. */
  @Test
  @Order(3)
  void aClusterDeletedAndAppliedAgainComesBackOnItsData() throws Exception {
    String password = pg.password(pg.names.superuserSecret());
    deleteCluster();
    assertTrue(sandbox.client().leases().inNamespace(NS).withName("pg-primary").get() != null, "the Lease is kept");
    sandbox.apply(NS, MANIFEST);
    PgCluster back = pg.awaitReadyInstances(3, Duration.ofSeconds(120));
    assertEquals("pg-1", back.getStatus().currentPrimary);
    assertEquals(password, pg.password(pg.names.superuserSecret()), "the kept credentials are used again");
    try (Connection c = pg.toPod("pg-1")) {
      assertEquals("3", one(c, "SELECT count(*) FROM kept"));
    }
    writeOn("pg-1", 4);
  }

  /** The same, with the Lease deleted too: the record is rebuilt from the instances' own data. */
  @Test
  @Order(4)
  void aClusterAppliedAgainWithoutItsLeaseIsRebuiltFromItsData() throws Exception {
    deleteCluster();
    assertEquals(0, kubectl.kubectl("delete", "lease", "pg-primary", "-n", NS).exit());
    sandbox.apply(NS, MANIFEST);
    PgCluster back = pg.awaitReadyInstances(3, Duration.ofSeconds(180));
    assertTrue(sandbox.client().v1().events().inNamespace(NS).list().getItems().stream()
        .anyMatch(e -> "PrimaryRecordRebuilt".equals(e.getReason())
            && e.getMessage().contains("no instance runs as a primary")), "rebuilt from the standbys' data");
    String primary = back.getStatus().currentPrimary;
    try (Connection c = pg.toPod(primary)) {
      assertEquals("4", one(c, "SELECT count(*) FROM kept"), "every row, on " + primary);
    }
    writeOn(primary, 5);
  }

  private void deleteCluster() throws Exception {
    sandbox.client().resources(PgCluster.class).inNamespace(NS).withName("pg").delete();
    Await.until(Duration.ofSeconds(90), "the cluster's pods gone", () -> sandbox.client().pods().inNamespace(NS)
        .withLabel("pgcluster.dev/cluster", "pg").list().getItems().isEmpty()
        && sandbox.client().resources(PgCluster.class).inNamespace(NS).withName("pg").get() == null);
  }

  private void writeOn(String pod, int id) throws Exception {
    Await.until(Duration.ofSeconds(60), "a write on " + pod, () -> {
      try (Connection c = pg.toPod(pod); Statement s = c.createStatement()) {
        s.execute("INSERT INTO kept VALUES (" + id + ")");
        return true;
      } catch (java.sql.SQLException e) {
        return false;
      }
    });
  }

  private boolean events(String reason) {
    return sandbox.client().v1().events().inNamespace(NS).list().getItems().stream()
        .anyMatch(e -> reason.equals(e.getReason()));
  }
}
