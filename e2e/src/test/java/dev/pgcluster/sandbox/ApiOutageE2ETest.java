package dev.pgcluster.sandbox;

import static dev.pgcluster.sandbox.SandboxCluster.one;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The primary dies while the API server is unreachable: nothing is promoted while the Lease cannot
 * change (no second primary can appear behind the control plane's back), and the failover completes
 * once the API server answers again.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ApiOutageE2ETest {
  static final String NS = "default";
  Sandbox sandbox;
  SandboxCluster cp;

  @BeforeAll
  void startCluster() throws Exception {
    cp = SandboxCluster.start(NS, """
        apiVersion: pgcluster.dev/v1alpha1
        kind: PgCluster
        metadata:
          name: cp
        spec:
          instances: 3
          storage:
            size: 1Gi
        """, 3, Duration.ofSeconds(120));
    sandbox = cp.sandbox;
  }

  @AfterAll
  void stop() {
    SandboxCluster.closeAndCheckNoLeftovers(sandbox);
  }

  @Test
  void noPromotionWhileTheApiServerIsDownThenFailoverWhenItReturns() throws Exception {
    String superuser = cp.password(cp.names.superuserSecret());
    List<String> standbys = List.of(sandbox.podIp(NS, "cp-1"), sandbox.podIp(NS, "cp-2"));
    Duration outage = Duration.ofSeconds(6);
    long end = System.nanoTime() + outage.toNanos();
    sandbox.apiOutage(outage);
    sandbox.loseNode(NS, "cp-0");
    while (System.nanoTime() < end - 300_000_000L) {
      for (String ip : standbys) {
        try (Connection c = SandboxCluster.connect(ip, "app", "postgres", superuser, 1, 2)) {
          assertEquals("t", one(c, "SELECT pg_is_in_recovery()"), ip + " was promoted during the API outage");
        }
      }
      Thread.sleep(200);
    }
    PgCluster after = Await.until(Duration.ofSeconds(60), "failover after the outage", cp::get,
        c -> !"cp-0".equals(c.getStatus().currentPrimary));
    // Written on the new primary's own address: after the API server's restart, the controller manager's
    // informers lag (see docs/sandbox.md), and -rw may take over a minute to route; that is Kubernetes'
    // EndpointSlice path, not the failover, which this test is about.
    String promoted = after.getStatus().currentPrimary;
    Await.until(Duration.ofSeconds(60), "a write on the promoted " + promoted, () -> {
      try (Connection c = SandboxCluster.connect(sandbox.podIp(NS, promoted), "app", "postgres", superuser, 2, 5);
          Statement s = c.createStatement()) {
        s.execute("CREATE TABLE IF NOT EXISTS after_outage (id int)");
        return true;
      } catch (SQLException e) {
        return false;
      }
    });
    assertEquals(1, after.getStatus().primaryEpoch);
  }
}
