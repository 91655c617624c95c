package dev.pgcluster.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgcluster.operator.api.v1alpha1.ClusterPhase;
import dev.pgcluster.operator.api.v1alpha1.Durability;
import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.operator.api.v1alpha1.ReplicationMode;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class PromoteCheckTest {

  /** pg-0 failed (Unavailable); pg-1 received 0/3000000, pg-2 0/5000000; pg-2 delayed unless said. */
  static PgCluster failed() {
    PgCluster cluster = SwitchoverCheckTest.cluster();
    var s = cluster.getStatus();
    s.phase = ClusterPhase.Unavailable;
    s.initialized = true;
    s.instances.get(0).reachable = false;
    s.instances.get(1).reachable = true;
    s.instances.get(1).receivedLsn = "0/3000000";
    s.instances.get(2).reachable = true;
    s.instances.get(2).receivedLsn = "0/5000000";
    return cluster;
  }

  @Test
  void aFailedPrimarysStandbyMayBeForcedWithoutTheFlag() {
    assertEquals(Optional.empty(), PromoteCheck.refusal(failed(), "pg-1", false));
  }

  @Test
  void eachRefusalSaysWhy() {
    assertEquals("pg-9 is not an instance of pg (its instances: pg-0, pg-1, pg-2)",
        PromoteCheck.refusal(failed(), "pg-9", false).orElseThrow());
    assertEquals("pg-0 is already the primary of pg", PromoteCheck.refusal(failed(), "pg-0", true).orElseThrow());
    assertEquals("pg-2 is a delayed standby: it is behind on purpose and is never promoted",
        PromoteCheck.refusal(failed(), "pg-2", true).orElseThrow());
    PgCluster fenced = failed();
    fenced.getStatus().instances.get(1).fenced = true;
    assertEquals("pg-1 is fenced: unfence it first (kubectl pgc unfence pg pg-1)",
        PromoteCheck.refusal(fenced, "pg-1", true).orElseThrow());
    PgCluster primaryFenced = failed();
    primaryFenced.getStatus().instances.get(0).fenced = true;
    assertEquals("primary pg-0 is fenced, which holds every change of primary: unfence it first (kubectl pgc unfence"
        + " pg pg-0)", PromoteCheck.refusal(primaryFenced, "pg-1", true).orElseThrow());
    PgCluster unreadable = failed();
    unreadable.getMetadata().setAnnotations(java.util.Map.of("pgcluster.dev/fenced-instances", "pg-1"));
    assertTrue(PromoteCheck.refusal(unreadable, "pg-1", true).orElseThrow().endsWith(
        "the operator acts on nothing new until it reads (fix or remove it first)"));
    PgCluster silent = failed();
    silent.getStatus().instances.get(1).reachable = false;
    assertEquals("pg-1 does not answer: the operator cannot promote it",
        PromoteCheck.refusal(silent, "pg-1", true).orElseThrow());
    PgCluster healthy = SwitchoverCheckTest.cluster();
    healthy.getStatus().initialized = true;
    healthy.getStatus().instances.get(1).reachable = true;
    assertEquals("primary pg-0 of pg is healthy (Healthy): use kubectl pgc switchover pg --to pg-1, or add --force"
        + " (done as a switchover while the primary answers: nothing is lost)",
        PromoteCheck.refusal(healthy, "pg-1", false).orElseThrow());
    assertEquals(Optional.empty(), PromoteCheck.refusal(healthy, "pg-1", true));
    assertEquals(List.of(), PromoteCheck.risks(healthy, "pg-1"), "a switchover risks nothing");
  }

  @Test
  void theRisksNameTheStandbyThatHasMoreAndTheDurabilityLost() {
    PgCluster cluster = failed();
    cluster.getStatus().instances.get(2).role = dev.pgcluster.operator.api.v1alpha1.InstanceRole.REPLICA;
    cluster.getSpec().replication.mode = ReplicationMode.SYNC;
    cluster.getSpec().replication.durability = Durability.REQUIRED;
    List<String> risks = PromoteCheck.risks(cluster, "pg-1");
    assertEquals("pg-2 received more WAL (0/5000000) than pg-1 (0/3000000): 32.0 MiB of changes only it has are"
        + " lost, and it is re-cloned or rewound", risks.get(0));
    assertTrue(risks.get(1).startsWith("durability is required"), risks.toString());
    assertTrue(risks.get(2).startsWith("the former primary pg-0 is fenced, then rewound"), risks.toString());
    assertEquals(3, risks.size(), risks.toString());
    List<String> fromTheMostAdvanced = PromoteCheck.risks(cluster, "pg-2");
    assertEquals(2, fromTheMostAdvanced.size(), "no standby has more than pg-2: " + fromTheMostAdvanced);
  }
}
