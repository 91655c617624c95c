package dev.pgcluster.operator.reconcile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.operator.api.v1alpha1.ReplicationMode;
import dev.pgcluster.operator.render.TestClusters;
import java.util.List;
import org.junit.jupiter.api.Test;

class SpecValidatorTest {

  @org.junit.jupiter.params.ParameterizedTest(name = "[{index}] size {0} -> {1}, class {2} -> {3}, database {4} -> {5}")
  @org.junit.jupiter.params.provider.CsvSource(delimiter = '|', nullValues = "-", textBlock = """
      10Gi | 10Gi  | -    | -    | app | app   | -
      10Gi | 20Gi  | -    | -    | app | app   | -
      10Gi | 10240Mi | -  | -    | app | app   | -
      10Gi | 5Gi   | -    | -    | app | app   | storage.size may not shrink (from 10Gi to 5Gi): a volume cannot be made smaller
      1Gi  | 1000Mi | -   | -    | app | app   | storage.size may not shrink (from 1Gi to 1000Mi): a volume cannot be made smaller
      10Gi | 10Gi  | -    | fast | app | app   | storage.storageClass is immutable (was null, now fast)
      10Gi | 10Gi  | slow | fast | app | app   | storage.storageClass is immutable (was slow, now fast)
      10Gi | 10Gi  | -    | -    | app | other | bootstrap.database is immutable (was app, now other)
      """)
  void refusesWhatMayNotChangeFromTheLastAppliedSpec(String size, String newSize, String storageClass,
      String newStorageClass, String database, String newDatabase, String problem) {
    PgCluster last = TestClusters.cluster("pg", 3);
    last.getSpec().storage.size = size;
    last.getSpec().storage.storageClass = storageClass;
    last.getSpec().bootstrap.database = database;
    PgCluster next = TestClusters.cluster("pg", 3);
    next.getSpec().storage.size = newSize;
    next.getSpec().storage.storageClass = newStorageClass;
    next.getSpec().bootstrap.database = newDatabase;
    assertEquals(problem == null ? List.of() : List.of(problem),
        SpecValidator.validateChange(last.getSpec(), next.getSpec()));
  }

  @Test
  void nothingToCompareBeforeTheFirstSpecIsApplied() {
    PgCluster next = TestClusters.cluster("pg", 3);
    next.getSpec().storage.size = "1Mi";
    assertEquals(List.of(), SpecValidator.validateChange(null, next.getSpec()));
  }

  @Test
  void acceptsTheDefaults() {
    assertEquals(List.of(), SpecValidator.validate(TestClusters.cluster("pg", 3).getSpec()));
  }

  @Test
  void refusesParametersTheOperatorOwns() {
    PgCluster cluster = TestClusters.cluster("pg", 3);
    cluster.getSpec().postgresql.parameters.put("listen_addresses", "*");
    assertEquals(List.of("postgresql.parameters.listen_addresses is managed by the operator and may not be set"),
        SpecValidator.validate(cluster.getSpec()));
  }

  @Test
  void refusesWeakOrMalformedHbaRules() {
    PgCluster cluster = TestClusters.cluster("pg", 3);
    cluster.getSpec().postgresql.pgHba = List.of("host all all 0.0.0.0/0 trust", "allow everyone");
    List<String> problems = SpecValidator.validate(cluster.getSpec());
    assertEquals(2, problems.size());
    assertTrue(problems.get(0).contains("weak method"), problems.get(0));
    assertTrue(problems.get(1).contains("must be one line starting with a connection type"), problems.get(1));
  }

  @Test
  void refusesASyncQuorumLargerThanTheStandbys() {
    PgCluster cluster = TestClusters.cluster("pg", 2);
    cluster.getSpec().replication.mode = ReplicationMode.SYNC;
    cluster.getSpec().replication.number = 2;
    assertEquals(List.of("replication.number (2) exceeds the standbys that can be synchronous (1)"),
        SpecValidator.validate(cluster.getSpec()));
  }

  @Test
  void refusesMultiLineParameterValues() {
    PgCluster cluster = TestClusters.cluster("pg", 3);
    cluster.getSpec().postgresql.parameters.put("work_mem", "4MB\nfsync = off");
    assertEquals(List.of("postgresql.parameters.work_mem must be a single-line value"),
        SpecValidator.validate(cluster.getSpec()));
  }

  /** What a schema may not have enforced (an older or hand-made CRD): checked again here. */
  @Test
  void refusesWhatAnOlderSchemaLetThrough() {
    PgCluster none = TestClusters.cluster("pg", 1);
    none.getSpec().instances = 0;
    assertEquals(List.of("instances (0) must be between 1 and 9"), SpecValidator.validate(none.getSpec()));
    PgCluster many = TestClusters.cluster("pg", 1);
    many.getSpec().instances = 12;
    assertEquals(List.of("instances (12) must be between 1 and 9"), SpecValidator.validate(many.getSpec()));
    PgCluster size = TestClusters.cluster("pg", 1);
    size.getSpec().storage.size = "lots";
    assertEquals(List.of("storage.size 'lots' is not a size (for example 10Gi)"), SpecValidator.validate(size.getSpec()));
  }

  @Test
  void refusesAValueOnlyANewerCrdKnows() {
    PgCluster cluster = TestClusters.cluster("pg", 3);
    cluster.getSpec().replication.mode = ReplicationMode.fromValue("semi-sync");
    assertEquals(ReplicationMode.UNKNOWN, cluster.getSpec().replication.mode);
    assertEquals(List.of("replication.mode has a value this operator does not know (it knows async, sync): is the"
        + " CRD newer than the operator?"), SpecValidator.validate(cluster.getSpec()));
  }

  @Test
  void refusesTheOperatorsLabelsAndAnUnknownAntiAffinity() {
    PgCluster cluster = TestClusters.cluster("pg", 3);
    cluster.getSpec().scheduling.podAntiAffinity = dev.pgcluster.operator.api.v1alpha1.PodAntiAffinityType
        .fromValue("always");
    cluster.getSpec().podMetadata = new dev.pgcluster.operator.api.v1alpha1.ObjectMetadataSpec();
    cluster.getSpec().podMetadata.labels = java.util.Map.of("pgcluster.dev/role", "primary", "team", "payments");
    cluster.getSpec().serviceAccountMetadata = new dev.pgcluster.operator.api.v1alpha1.ObjectMetadataSpec();
    cluster.getSpec().serviceAccountMetadata.annotations = java.util.Map.of("pgcluster.dev/holder", "me");
    assertEquals(List.of(
        "scheduling.podAntiAffinity has a value this operator does not know (it knows preferred, required, none): is"
            + " the CRD newer than the operator?",
        "podMetadata.labels.pgcluster.dev/role: labels under pgcluster.dev/ and app.kubernetes.io/ are the operator's",
        "serviceAccountMetadata.annotations.pgcluster.dev/holder: annotations under pgcluster.dev/ are the operator's"),
        SpecValidator.validate(cluster.getSpec()));
  }

  @Test
  void tlsMayBeTurnedOffButNotOnOnARunningCluster() {
    PgCluster plain = TestClusters.cluster("pg", 3);
    PgCluster withTls = TestClusters.cluster("pg", 3);
    withTls.getSpec().tls = new dev.pgcluster.operator.api.v1alpha1.TlsSpec();
    withTls.getSpec().tls.enabled = true;
    assertEquals(List.of("tls.enabled is chosen when the cluster is created: a running cluster cannot be turned to TLS"
        + " (its standbys would verify a primary that does not serve TLS yet)"),
        SpecValidator.validateChange(plain.getSpec(), withTls.getSpec()));
    assertEquals(List.of(), SpecValidator.validateChange(withTls.getSpec(), plain.getSpec()));
    assertEquals(List.of(), SpecValidator.validateChange(withTls.getSpec(), withTls.getSpec()));
  }

  @Test
  void aWalVolumeIsChosenAtCreationAndMayOnlyGrow() {
    PgCluster plain = TestClusters.cluster("pg", 3);
    PgCluster withWal = TestClusters.cluster("pg", 3);
    withWal.getSpec().walStorage = new dev.pgcluster.operator.api.v1alpha1.StorageSpec();
    withWal.getSpec().walStorage.size = "2Gi";
    String chosen = "walStorage is chosen when the cluster is created: a WAL volume cannot be added to or removed from"
        + " existing instances";
    assertEquals(List.of(chosen), SpecValidator.validateChange(plain.getSpec(), withWal.getSpec()));
    assertEquals(List.of(chosen), SpecValidator.validateChange(withWal.getSpec(), plain.getSpec()));
    PgCluster smaller = TestClusters.cluster("pg", 3);
    smaller.getSpec().walStorage = new dev.pgcluster.operator.api.v1alpha1.StorageSpec();
    smaller.getSpec().walStorage.size = "1Gi";
    smaller.getSpec().walStorage.storageClass = "fast";
    assertEquals(List.of("walStorage.size may not shrink (from 2Gi to 1Gi): a volume cannot be made smaller",
        "walStorage.storageClass is immutable (was null, now fast)"),
        SpecValidator.validateChange(withWal.getSpec(), smaller.getSpec()));
    assertEquals(List.of(), SpecValidator.validateChange(smaller.getSpec(), withWal.getSpec()).stream()
        .filter(p -> p.contains("size")).toList(), "growing is allowed");
  }

  @Test
  void backupRulesBeyondTheSchema() {
    var cluster = dev.pgcluster.operator.render.BackupRendererTest.withBackup();
    assertEquals(List.of(), SpecValidator.validateBackup("shop", cluster.getSpec()));
    cluster.getSpec().backup.schedule = "61 * * * *";
    cluster.getSpec().postgresql.parameters.put("archive_command", "cp %p /mnt");
    cluster.getSpec().bootstrap.recovery = new dev.pgcluster.operator.api.v1alpha1.RecoverySpec();
    cluster.getSpec().bootstrap.recovery.source = "shop";
    assertEquals(List.of("spec.backup.schedule: cron minute field '61': 61 is outside 0-59",
        "postgresql.parameters.archive_command is managed by the operator while spec.backup is set",
        "bootstrap.recovery.source is this cluster's own stanza in the same repository path: the restored cluster"
            + " would archive over its source; give the new cluster another name or spec.backup.repository.path"),
        SpecValidator.validateBackup("shop", cluster.getSpec()));
    assertEquals(List.of(), SpecValidator.validateBackup("other",
        dev.pgcluster.operator.render.TestClusters.cluster("other", 3).getSpec()));
  }
}
