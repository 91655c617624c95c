package dev.pgcluster.operator.ha;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.pgcluster.operator.api.v1alpha1.DelayedReplicasSpec;
import dev.pgcluster.operator.api.v1alpha1.Durability;
import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.operator.api.v1alpha1.ReplicationMode;
import dev.pgcluster.operator.api.v1alpha1.SyncMethod;
import dev.pgcluster.operator.api.v1alpha1.SynchronousCommit;
import dev.pgcluster.operator.naming.PgClusterNames;
import dev.pgcluster.operator.render.TestClusters;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class SyncReplicationTest {

  /**
   * instances | delayed | mode | method | number | durability | primary | streaming standbys |
   * expected synchronous_standby_names | expected health
   */
  @ParameterizedTest(name = "{0} instances ({1} delayed) {2} {3} {4} {5}, primary {6}, streaming [{7}] -> {8}")
  @CsvSource(delimiter = '|', nullValues = "-", textBlock = """
      3 | 0 | async | any   | 1 | required  | pg-0 | pg-1 pg-2 | ''                                | ASYNC
      3 | 0 | sync  | any   | 1 | required  | pg-0 | pg-1 pg-2 | ANY 1 ("pg-1", "pg-2")            | SYNCHRONOUS
      3 | 0 | sync  | any   | 1 | required  | pg-1 | pg-0 pg-2 | ANY 1 ("pg-0", "pg-2")            | SYNCHRONOUS
      3 | 0 | sync  | first | 2 | required  | pg-0 | pg-1 pg-2 | FIRST 2 ("pg-1", "pg-2")          | SYNCHRONOUS
      3 | 0 | sync  | any   | 1 | required  | pg-0 | -         | ANY 1 ("pg-1", "pg-2")            | WAITING_FOR_STANDBYS
      3 | 0 | sync  | any   | 2 | required  | pg-0 | pg-2      | ANY 2 ("pg-1", "pg-2")            | WAITING_FOR_STANDBYS
      3 | 0 | sync  | any   | 1 | preferred | pg-0 | -         | ''                                | REDUCED
      3 | 0 | sync  | any   | 2 | preferred | pg-0 | pg-2      | ANY 1 ("pg-1", "pg-2")            | REDUCED
      3 | 0 | sync  | first | 2 | preferred | pg-0 | pg-1      | FIRST 1 ("pg-1", "pg-2")          | REDUCED
      3 | 0 | sync  | any   | 1 | preferred | pg-0 | pg-1      | ANY 1 ("pg-1", "pg-2")            | SYNCHRONOUS
      4 | 1 | sync  | any   | 1 | required  | pg-0 | pg-1 pg-2 pg-3 | ANY 1 ("pg-1", "pg-2")       | SYNCHRONOUS
      4 | 1 | sync  | any   | 1 | preferred | pg-0 | pg-3      | ''                                | REDUCED
      """)
  void plansTheSynchronousSet(int instances, int delayed, String mode, String method, int number, String durability,
      String primary, String streaming, String expectedNames, SyncReplication.Health expectedHealth) {
    PgCluster cluster = TestClusters.cluster("pg", instances);
    cluster.getSpec().replication.mode = mode.equals("sync") ? ReplicationMode.SYNC : ReplicationMode.ASYNC;
    cluster.getSpec().replication.method = method.equals("first") ? SyncMethod.FIRST : SyncMethod.ANY;
    cluster.getSpec().replication.number = number;
    cluster.getSpec().replication.durability = durability.equals("preferred") ? Durability.PREFERRED : Durability.REQUIRED;
    cluster.getSpec().replication.synchronousCommit = SynchronousCommit.REMOTE_APPLY;
    if (delayed > 0) {
      cluster.getSpec().replication.delayedReplicas = new DelayedReplicasSpec();
      cluster.getSpec().replication.delayedReplicas.instances = delayed;
      cluster.getSpec().replication.delayedReplicas.applyDelay = "1h";
    }
    List<StandbyConnection> connections = streaming == null ? List.of()
        : Arrays.stream(streaming.split(" ")).map(n -> new StandbyConnection(n, "streaming", "quorum", "0/0", 0L))
            .toList();
    ClusterState state = new ClusterState(new PrimaryRecord(primary, 0, true, "1"), List.of(), List.of(), connections,
        Map.of());

    SyncReplication.Plan plan = SyncReplication.plan(cluster.getSpec(), PgClusterNames.of(cluster), state);

    assertEquals(expectedNames, plan.standbyNames());
    assertEquals(expectedHealth, plan.health());
    assertEquals(mode.equals("sync") ? "remote_apply" : "on", plan.synchronousCommit());
  }
}
