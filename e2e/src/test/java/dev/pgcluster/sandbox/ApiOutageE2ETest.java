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
@org.junit.jupiter.api.TestMethodOrder(org.junit.jupiter.api.MethodOrderer.OrderAnnotation.class)
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

  /**
   * Self-fencing: the primary's agent cannot renew its grant while the API server is away, so within
   * the grant (5 s) the primary refuses writes and ends its sessions; once the API server is back, the
   * agent renews and lifts the fence, and the same primary takes writes again, without a failover.
   */
  @Test
  @org.junit.jupiter.api.Order(1)
  void aPrimaryThatCannotRenewItsGrantStopsTakingWritesUntilItCanAgain() throws Exception {
    PgCluster before = cp.awaitReadyInstances(3, Duration.ofSeconds(60));
    String primary = before.getStatus().currentPrimary;
    String ip = sandbox.podIp(NS, primary);
    String superuser = cp.password(cp.names.superuserSecret());
    try (Connection c = SandboxCluster.connect(ip, "app", "postgres", superuser); Statement s = c.createStatement()) {
      s.execute("CREATE TABLE isolated (id int, at timestamptz DEFAULT now())");
    }
    Duration lease = Duration.ofSeconds(before.getSpec().failover.leaseDurationSeconds);
    Duration outage = Duration.ofSeconds(9);
    // In-cluster clients lose the API server at once (the kubernetes Service stops routing to it); its
    // graceful stop then takes seconds, and it stays down for `outage` after that.
    long start = System.nanoTime();
    Thread outageThread = new Thread(() -> sandbox.apiOutage(outage), "api outage");
    outageThread.start();
    long lastAck = -1;
    long firstRefused = -1;
    String refusal = null;
    int id = 0;
    Connection c = null;
    while (System.nanoTime() - start < lease.plusSeconds(3).toNanos()) {
      try {
        if (c == null) {
          c = SandboxCluster.connect(ip, "app", "postgres", superuser, 1, 2);
        }
        try (Statement s = c.createStatement()) {
          s.execute("INSERT INTO isolated (id) VALUES (" + (++id) + ")");
        }
        lastAck = System.nanoTime() - start;
      } catch (SQLException e) {
        if (firstRefused < 0) {
          firstRefused = System.nanoTime() - start;
          refusal = e.getMessage();
        }
        if (c != null) {
          try {
            c.close();
          } catch (SQLException ignored) {
            // ended by the fence
          }
          c = null;
        }
        Thread.sleep(20);
      }
    }
    if (c != null) {
      c.close();
    }
    outageThread.join();
    System.out.printf("isolated primary %s (lease %d s): last acknowledged write %.2f s after the API server went"
        + " away, first refused at %.2f s (%s)%n", primary, lease.toSeconds(), lastAck / 1e9, firstRefused / 1e9, refusal);
    org.junit.jupiter.api.Assertions.assertTrue(lastAck > 0, "the primary took writes before its grant ran out");
    org.junit.jupiter.api.Assertions.assertTrue(lastAck < lease.toNanos(), "the isolated primary acknowledged a"
        + " write " + lastAck / 1e9 + " s after the API server went away, past its " + lease.toSeconds() + " s grant");
    sandbox.controlPlane().awaitApiServer(Duration.ofSeconds(60));
    long back = System.nanoTime();
    Await.until(Duration.ofSeconds(60), "writes taken again by " + primary, () -> {
      try (Connection w = SandboxCluster.connect(ip, "app", "postgres", superuser, 1, 2); Statement s = w.createStatement()) {
        s.execute("INSERT INTO isolated (id) VALUES (-1)");
        return true;
      } catch (SQLException e) {
        return false;
      }
    });
    System.out.printf("%s takes writes again %.2f s after the API server answered%n", primary,
        (System.nanoTime() - back) / 1e9);
    PgCluster after = cp.awaitReadyInstances(3, Duration.ofSeconds(60));
    assertEquals(primary, after.getStatus().currentPrimary, "no failover: the primary was fine, only isolated");
    assertEquals(before.getStatus().primaryEpoch, after.getStatus().primaryEpoch);
  }

  @Test
  @org.junit.jupiter.api.Order(2)
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
