package dev.pgcluster.operator.render;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgcluster.operator.api.v1alpha1.DelayedReplicasSpec;
import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.operator.api.v1alpha1.ReplicationMode;
import dev.pgcluster.operator.api.v1alpha1.SyncMethod;
import java.util.List;
import org.junit.jupiter.api.Test;

class PostgresConfigTest {

  @Test
  void enablesWhatStreamingReplicationAndRewindNeed() {
    String conf = PostgresConfig.postgresqlConf(TestClusters.cluster("pg", 3));
    assertTrue(conf.contains("wal_level = replica"));
    assertTrue(conf.contains("hot_standby = on"));
    assertTrue(conf.contains("wal_log_hints = on"));
    assertTrue(conf.contains("max_slot_wal_keep_size = '10GB'"));
    assertFalse(conf.contains("synchronous_standby_names"), "async by default");
  }

  @Test
  void userParametersAreQuoted() {
    PgCluster cluster = TestClusters.cluster("pg", 3);
    cluster.getSpec().postgresql.parameters.put("work_mem", "8MB");
    cluster.getSpec().postgresql.parameters.put("application_name", "it's");
    String conf = PostgresConfig.postgresqlConf(cluster);
    assertTrue(conf.contains("work_mem = '8MB'"));
    assertTrue(conf.contains("application_name = 'it''s'"));
  }

  @Test
  void syncQuorumListsEveryNonDelayedInstance() {
    PgCluster cluster = TestClusters.cluster("pg", 4);
    cluster.getSpec().replication.mode = ReplicationMode.SYNC;
    cluster.getSpec().replication.number = 2;
    cluster.getSpec().replication.delayedReplicas = new DelayedReplicasSpec();
    cluster.getSpec().replication.delayedReplicas.instances = 1;
    cluster.getSpec().replication.delayedReplicas.applyDelay = "1h";
    assertEquals("ANY 2 (\"pg-0\", \"pg-1\", \"pg-2\")", SyncStandbyNames.render(cluster));
    cluster.getSpec().replication.method = SyncMethod.FIRST;
    assertEquals("FIRST 2 (\"pg-0\", \"pg-1\", \"pg-2\")", SyncStandbyNames.render(cluster));
    assertTrue(PostgresConfig.postgresqlConf(cluster).contains("synchronous_commit = on"));
  }

  @Test
  void replicationIsOnlyForTheReplicationRoleAndUserRulesPrecedeTheCatchAll() {
    PgCluster cluster = TestClusters.cluster("pg", 3);
    cluster.getSpec().postgresql.pgHba = List.of("host app app 10.0.0.0/8 scram-sha-256");
    List<String> lines = PostgresConfig.pgHbaConf(cluster).lines().filter(l -> !l.startsWith("#")).toList();
    assertTrue(lines.get(1).matches("host\\s+replication\\s+replication\\s+all\\s+scram-sha-256"));
    assertTrue(lines.get(2).matches("host\\s+replication\\s+all\\s+all\\s+reject"));
    assertEquals("host app app 10.0.0.0/8 scram-sha-256", lines.get(3));
    assertTrue(lines.get(4).matches("host\\s+all\\s+all\\s+all\\s+scram-sha-256"));
    assertTrue(lines.stream().noneMatch(l -> l.contains("trust") || l.contains("md5")));
  }

  @Test
  void tlsRequiredRefusesEveryConnectionWithoutTlsBeforeAnyOtherRule() {
    PgCluster cluster = TestClusters.cluster("pg", 3);
    cluster.getSpec().postgresql.pgHba = List.of("host app app 10.0.0.0/8 scram-sha-256");
    cluster.getSpec().tls = new dev.pgcluster.operator.api.v1alpha1.TlsSpec();
    cluster.getSpec().tls.enabled = true;
    assertTrue(PostgresConfig.pgHbaConf(cluster).lines().noneMatch(l -> l.startsWith("hostnossl")),
        "TLS offered, not required: plaintext still allowed");
    cluster.getSpec().tls.required = true;
    List<String> lines = PostgresConfig.pgHbaConf(cluster).lines().filter(l -> !l.startsWith("#")).toList();
    assertTrue(lines.get(0).startsWith("local"));
    assertTrue(lines.get(1).matches("hostnossl\\s+all\\s+all\\s+all\\s+reject"), lines.get(1));
    assertTrue(lines.get(2).matches("host\\s+replication\\s+replication\\s+all\\s+scram-sha-256"));
  }
}
