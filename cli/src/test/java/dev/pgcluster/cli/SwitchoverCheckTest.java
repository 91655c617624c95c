package dev.pgcluster.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgcluster.operator.api.v1alpha1.ClusterPhase;
import dev.pgcluster.operator.api.v1alpha1.InstanceRole;
import dev.pgcluster.operator.api.v1alpha1.InstanceStatus;
import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.operator.api.v1alpha1.PgClusterStatus;
import dev.pgcluster.operator.render.TestClusters;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class SwitchoverCheckTest {
  static final long MAX_LAG = 16L * 1024 * 1024;

  /** pg-0 primary, pg-1 a ready standby, pg-2 a delayed one. */
  static PgCluster cluster() {
    PgCluster cluster = TestClusters.cluster("pg", 3);
    PgClusterStatus s = new PgClusterStatus();
    s.phase = ClusterPhase.Healthy;
    s.currentPrimary = "pg-0";
    s.primaryEpoch = 2;
    s.readyInstances = 3;
    s.instances.add(instance("pg-0", InstanceRole.PRIMARY, true, null));
    s.instances.add(instance("pg-1", InstanceRole.REPLICA, true, 120L));
    s.instances.add(instance("pg-2", InstanceRole.DELAYED_REPLICA, true, 9000L));
    cluster.setStatus(s);
    return cluster;
  }

  static InstanceStatus instance(String name, InstanceRole role, boolean ready, Long lag) {
    InstanceStatus i = new InstanceStatus();
    i.name = name;
    i.role = role;
    i.ready = ready;
    i.timeline = 2L;
    i.lagBytes = lag;
    return i;
  }

  @Test
  void aReadyStandbyThatHasCaughtUpMayTakeOver() {
    assertEquals(Optional.empty(), SwitchoverCheck.refusal(cluster(), "pg-1", MAX_LAG));
  }

  @Test
  void eachRefusalSaysWhy() {
    assertEquals("pg-9 is not an instance of pg (its instances: pg-0, pg-1, pg-2)",
        SwitchoverCheck.refusal(cluster(), "pg-9", MAX_LAG).orElseThrow());
    assertEquals("pg-0 is already the primary of pg", SwitchoverCheck.refusal(cluster(), "pg-0", MAX_LAG).orElseThrow());
    assertEquals("pg-2 is a delayed standby: it is behind on purpose and is never promoted",
        SwitchoverCheck.refusal(cluster(), "pg-2", MAX_LAG).orElseThrow());

    PgCluster notReady = cluster();
    notReady.getStatus().instances.get(1).ready = false;
    assertEquals("pg-1 is not ready: it cannot take over", SwitchoverCheck.refusal(notReady, "pg-1", MAX_LAG).orElseThrow());

    PgCluster lagging = cluster();
    lagging.getStatus().instances.get(1).lagBytes = 40L * 1024 * 1024;
    assertTrue(SwitchoverCheck.refusal(lagging, "pg-1", MAX_LAG).orElseThrow()
        .startsWith("pg-1 is 40.0 MiB behind the primary (more than 16.0 MiB)"));
    assertEquals(Optional.empty(), SwitchoverCheck.refusal(lagging, "pg-1", 64L * 1024 * 1024));

    PgCluster unavailable = cluster();
    unavailable.getStatus().phase = ClusterPhase.Unavailable;
    assertTrue(SwitchoverCheck.refusal(unavailable, "pg-1", MAX_LAG).orElseThrow().startsWith("pg is Unavailable"));

    PgCluster fresh = TestClusters.cluster("pg", 3);
    assertEquals("pg has no primary yet: nothing to switch over from",
        SwitchoverCheck.refusal(fresh, "pg-1", MAX_LAG).orElseThrow());
  }
}
