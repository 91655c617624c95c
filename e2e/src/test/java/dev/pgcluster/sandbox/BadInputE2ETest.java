package dev.pgcluster.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgcluster.operator.api.v1alpha1.ClusterPhase;
import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Input a new user gets wrong, tried on the real control plane: a resource the operator cannot read
 * (written against a newer CRD) is reported on itself and the others are served; a spec the operator
 * refuses does not switch failover off.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class BadInputE2ETest {
  static final String NS = "bad";
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

  /**
   * A CRD newer than the operator allows replication.mode "semi-sync": a PgCluster using it is reported
   * Invalid with an event, the operator keeps running (no restart) and keeps serving the other cluster.
   */
  @Test
  @Order(1)
  void aResourceTheOperatorCannotReadIsReportedAndTheOthersAreServed() throws Exception {
    KubeTools kubectl = new KubeTools(sandbox.kubeconfig());
    KubeTools.Result patched = kubectl.kubectl("patch", "crd", "pgclusters.pgcluster.dev", "--type=json", "-p",
        "[{\"op\":\"add\",\"path\":\"/spec/versions/0/schema/openAPIV3Schema/properties/spec/properties/replication"
            + "/properties/mode/enum/-\",\"value\":\"semi-sync\"}]");
    assertEquals(0, patched.exit(), patched.output());
    KubeTools.Result created = kubectl.kubectlWithInput("""
        apiVersion: pgcluster.dev/v1alpha1
        kind: PgCluster
        metadata:
          name: odd
        spec:
          instances: 1
          storage:
            size: 1Gi
          replication:
            mode: semi-sync
        """, "apply", "-n", NS, "-f", "-");
    assertEquals(0, created.exit(), created.output());
    PgCluster odd = Await.until(Duration.ofSeconds(60), "odd reported Invalid", () -> sandbox.client()
        .resources(PgCluster.class).inNamespace(NS).withName("odd").get(),
        c -> c.getStatus() != null && c.getStatus().phase == ClusterPhase.Invalid);
    String ready = odd.getStatus().conditions.stream().filter(c -> c.getType().equals("Ready")).findFirst()
        .orElseThrow().getMessage();
    assertTrue(ready.contains("replication.mode has a value this operator does not know"), ready);
    assertTrue(sandbox.client().v1().events().inNamespace(NS).list().getItems().stream()
        .anyMatch(e -> "InvalidSpec".equals(e.getReason()) && e.getInvolvedObject().getName().equals("odd")));
    // The other cluster is still served: a spec change reaches its StatefulSet's pods' configuration.
    sandbox.editCluster(NS, "pg", c -> {
      c.getSpec().postgresql.parameters.put("work_mem", "8MB");
      return c;
    });
    Await.until(Duration.ofSeconds(60), "work_mem applied on pg's primary", () -> {
      try (Connection c = pg.toPod(pg.get().getStatus().currentPrimary); Statement s = c.createStatement();
          var rs = s.executeQuery("SHOW work_mem")) {
        rs.next();
        return rs.getString(1).equals("8MB");
      } catch (SQLException e) {
        return false;
      }
    });
    assertTrue(sandbox.operatorPods().stream().allMatch(p -> p.getStatus().getContainerStatuses().stream()
        .allMatch(s -> s.getRestartCount() == 0)), "no operator replica restarted");
    sandbox.client().resources(PgCluster.class).inNamespace(NS).withName("odd").delete();
  }

  /**
   * A pgHba line with md5 passes the schema and is refused by the operator. While the spec stays invalid,
   * the primary's node is lost: the cluster still fails over (with its last valid spec), the status
   * says both, and the fixed spec is rolled out again.
   */
  @Test
  @Order(2)
  void anInvalidSpecDoesNotSwitchFailoverOff() throws Exception {
    pg.awaitReadyInstances(3, Duration.ofSeconds(120));
    sandbox.editCluster(NS, "pg", c -> {
      c.getSpec().postgresql.pgHba = List.of("host all all 0.0.0.0/0 md5");
      return c;
    });
    PgCluster invalid = Await.until(Duration.ofSeconds(60), "pg reported Invalid", pg::get,
        c -> c.getStatus().phase == ClusterPhase.Invalid);
    String old = invalid.getStatus().currentPrimary;
    int epoch = invalid.getStatus().primaryEpoch;
    sandbox.loseNode(NS, old);
    PgCluster failedOver = Await.until(Duration.ofSeconds(60), "a failover while the spec is invalid", pg::get,
        c -> c.getStatus().primaryEpoch > epoch && c.getStatus().lastPrimaryChange != null
            && c.getStatus().lastPrimaryChange.promotedAt != null);
    assertEquals(ClusterPhase.Invalid, failedOver.getStatus().phase, "the status still says the spec is invalid");
    String progressing = failedOver.getStatus().conditions.stream().filter(c -> c.getType().equals("Progressing"))
        .findFirst().orElseThrow().getMessage();
    assertTrue(progressing.contains("uses a weak method") && progressing.contains("last valid spec"), progressing);
    String promoted = failedOver.getStatus().currentPrimary;
    Await.until(Duration.ofSeconds(60), "a write on the promoted " + promoted, () -> {
      try (Connection c = pg.toPod(promoted); Statement s = c.createStatement()) {
        s.execute("CREATE TABLE IF NOT EXISTS after_invalid (id int)");
        return true;
      } catch (SQLException e) {
        return false;
      }
    });
    sandbox.restoreLostNodes();
    sandbox.editCluster(NS, "pg", c -> {
      c.getSpec().postgresql.pgHba = List.of();
      return c;
    });
    Await.until(Duration.ofSeconds(120), "pg valid and 3 ready again", pg::get,
        c -> c.getStatus().phase != ClusterPhase.Invalid && c.getStatus().readyInstances != null
            && c.getStatus().readyInstances == 3);
  }
}
