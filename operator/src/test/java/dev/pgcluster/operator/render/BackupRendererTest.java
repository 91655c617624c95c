package dev.pgcluster.operator.render;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgcluster.operator.api.v1alpha1.BackupSpec;
import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.operator.api.v1alpha1.RecoverySpec;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

public class BackupRendererTest {

  public static PgCluster withBackup() {
    PgCluster cluster = TestClusters.cluster("shop", 3);
    BackupSpec backup = new BackupSpec();
    backup.repository = new BackupSpec.RepositorySpec();
    backup.repository.s3 = new BackupSpec.S3Spec();
    backup.repository.s3.bucket = "backups";
    backup.repository.s3.endpoint = "minio.storage.svc";
    backup.repository.s3.uriStyle = "path";
    backup.repository.s3.credentials = new BackupSpec.S3Credentials();
    backup.repository.s3.credentials.secret = "store";
    backup.repository.s3.caSecret = new BackupSpec.SecretKey();
    backup.repository.s3.caSecret.name = "store-ca";
    cluster.getSpec().backup = backup;
    return cluster;
  }

  static Map<String, EnvVar> env(Container c) {
    return c.getEnv().stream().collect(Collectors.toMap(EnvVar::getName, e -> e, (a, b) -> b));
  }

  @Test
  void withoutBackupNothingOfPgBackRestIsRendered() {
    PgCluster cluster = TestClusters.cluster("shop", 3);
    assertEquals(Map.of(), BackupRenderer.archiveParameters(cluster));
    var sts = StatefulSetRenderer.render(cluster);
    for (Container c : sts.getSpec().getTemplate().getSpec().getContainers()) {
      assertTrue(c.getEnv().stream().noneMatch(e -> e.getName().startsWith("PGBACKREST_")), c.getName());
    }
    assertTrue(PostgresConfig.postgresqlConf(cluster).lines().noneMatch(l -> l.startsWith("archive_")));
  }

  @Test
  void everyContainerGetsTheStoreAndTheCredentialsComeFromTheSecret() {
    PgCluster cluster = withBackup();
    var pod = StatefulSetRenderer.render(cluster).getSpec().getTemplate().getSpec();
    List<Container> all = new java.util.ArrayList<>(pod.getContainers());
    all.addAll(pod.getInitContainers());
    for (Container c : all) {
      Map<String, EnvVar> env = env(c);
      assertEquals("shop", env.get("PGBACKREST_STANZA").getValue(), c.getName());
      assertEquals("/pgcluster/db", env.get("PGBACKREST_REPO1_PATH").getValue());
      assertEquals("minio.storage.svc", env.get("PGBACKREST_REPO1_S3_ENDPOINT").getValue());
      assertEquals("443", env.get("PGBACKREST_REPO1_STORAGE_PORT").getValue());
      assertEquals("path", env.get("PGBACKREST_REPO1_S3_URI_STYLE").getValue());
      assertEquals("store", env.get("PGBACKREST_REPO1_S3_KEY").getValueFrom().getSecretKeyRef().getName());
      assertEquals("ACCESS_SECRET_KEY", env.get("PGBACKREST_REPO1_S3_KEY_SECRET").getValueFrom().getSecretKeyRef().getKey());
      assertEquals("/etc/pgcluster/backup-ca/ca.crt", env.get("PGBACKREST_REPO1_STORAGE_CA_FILE").getValue());
      assertEquals("2", env.get("PGBACKREST_REPO1_RETENTION_FULL").getValue());
      assertEquals(Long.toString(4L << 30), env.get("PGBACKREST_ARCHIVE_PUSH_QUEUE_MAX").getValue());
      assertTrue(c.getVolumeMounts().stream().anyMatch(m -> m.getName().equals("backup-ca")), c.getName());
    }
    assertTrue(pod.getVolumes().stream().anyMatch(v -> "store-ca".equals(
        v.getSecret() == null ? null : v.getSecret().getSecretName())));
    Container agent = pod.getContainers().stream().filter(c -> c.getName().equals("agent")).findFirst().orElseThrow();
    assertTrue(agent.getVolumeMounts().stream().anyMatch(m -> m.getName().equals("run")), "the socket and the locks");
    assertTrue(agent.getVolumeMounts().stream().filter(m -> m.getName().equals("pgdata")).allMatch(m -> m.getReadOnly()));
    assertEquals(Map.of("archive_mode", "on", "archive_command", "'bash \"$CONFIG_DIR/pgbackrest-archive-push.sh\" %p'"),
        BackupRenderer.archiveParameters(cluster));
    assertTrue(ConfigMapRenderer.config(cluster).getData().containsKey(BackupRenderer.ARCHIVE_SCRIPT));
  }

  @Test
  void aRecoveryIsOnlyForTheInitContainer() {
    PgCluster cluster = withBackup();
    cluster.getSpec().bootstrap.recovery = new RecoverySpec();
    cluster.getSpec().bootstrap.recovery.source = "old-shop";
    cluster.getSpec().bootstrap.recovery.target = new RecoverySpec.Target();
    cluster.getSpec().bootstrap.recovery.target.lsn = "0/3a000060";
    var pod = StatefulSetRenderer.render(cluster).getSpec().getTemplate().getSpec();
    Map<String, EnvVar> init = env(pod.getInitContainers().get(0));
    assertEquals("old-shop", init.get("RECOVERY_STANZA").getValue());
    assertEquals("/pgcluster/db", init.get("RECOVERY_REPO_PATH").getValue());
    assertEquals("lsn", init.get("RECOVERY_TARGET_TYPE").getValue());
    assertEquals("0/3A000060", init.get("RECOVERY_TARGET").getValue());
    for (Container c : pod.getContainers()) {
      assertTrue(env(c).keySet().stream().noneMatch(k -> k.startsWith("RECOVERY_")), c.getName());
    }
  }

  @ParameterizedTest
  @CsvSource({
      "2026-12-01T09:30:00Z, 2026-12-01 09:30:00.000000+00",
      "2026-12-01T10:30:00.5+01:00, 2026-12-01 09:30:00.500000+00",
      "2026-12-01T00:15:00.123456-02:00, 2026-12-01 02:15:00.123456+00"})
  void recoveryTimesAreGivenInUtcWithoutTheT(String rfc3339, String expected) {
    assertEquals(expected, BackupRenderer.recoveryTime(rfc3339));
  }

  @ParameterizedTest
  @CsvSource({"512Mi, 536870912", "4Gi, 4294967296", "1Ti, 1099511627776"})
  void sizes(String size, long bytes) {
    assertEquals(bytes, BackupRenderer.bytes(size));
  }
}
