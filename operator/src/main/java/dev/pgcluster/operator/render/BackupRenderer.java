package dev.pgcluster.operator.render;

import dev.pgcluster.operator.api.v1alpha1.BackupSpec;
import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.operator.api.v1alpha1.RecoverySpec;
import dev.pgcluster.operator.naming.PgClusterNames;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.EnvVarBuilder;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeBuilder;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.VolumeMountBuilder;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * pgBackRest as the pods run it: every option comes from PGBACKREST_* environment variables (no
 * configuration file), the credentials from the user's Secret. The same environment serves the
 * postgres container (archive-push), the agent (stanza-create, backup) and the init container (restore).
 */
public final class BackupRenderer {
  static final String CA_MOUNT = "/etc/pgcluster/backup-ca";
  /** WAL waiting for the store, on the volume (it outlives restarts) but outside PGDATA (never cloned). */
  static final String SPOOL_PATH = StatefulSetRenderer.DATA_MOUNT + "/pgbackrest-spool";
  /** Shared by the containers of a pod: a backup and archive-push must see each other's locks. */
  static final String LOCK_PATH = StatefulSetRenderer.SOCKET_MOUNT + "/pgbackrest-lock";
  public static final String DEFAULT_ACCESS_KEY_ID_KEY = "ACCESS_KEY_ID";
  public static final String DEFAULT_SECRET_ACCESS_KEY_KEY = "ACCESS_SECRET_KEY";
  public static final String DEFAULT_CA_KEY = "ca.crt";
  public static final int DEFAULT_RETENTION_FULL = 2;
  public static final String DEFAULT_MAX_QUEUE = "4Gi";
  /**
   * How long one archive-push waits for the WAL file to reach the store. Short: PostgreSQL retries a
   * failed push, and a fast shutdown (switchover) waits for the push under way.
   */
  static final int ARCHIVE_PUSH_TIMEOUT_SECONDS = 5;
  /**
   * The archive_command: pgBackRest, through a wrapper that keeps its last error for the operator. Its
   * name contains "pgbackrest": pgBackRest's backup refuses an archive_command that does not.
   */
  public static final String ARCHIVE_SCRIPT = "pgbackrest-archive-push.sh";
  /** Written by the archive script in PGDATA when a push fails; read by the operator with pg_read_file. */
  public static final String ARCHIVE_ERROR_FILE = "pgcluster.archive-error";

  private BackupRenderer() {}

  public static boolean enabled(PgCluster cluster) {
    return cluster.getSpec().backup != null && cluster.getSpec().backup.repository != null
        && cluster.getSpec().backup.repository.s3 != null;
  }

  /** The stanza of a cluster: its name. */
  public static String stanza(PgCluster cluster) {
    return PgClusterNames.of(cluster).cluster();
  }

  public static String repositoryPath(PgCluster cluster) {
    BackupSpec.RepositorySpec repo = cluster.getSpec().backup.repository;
    return repo.path != null ? repo.path : "/pgcluster/" + cluster.getMetadata().getNamespace();
  }

  /** PostgreSQL settings for archiving; empty without spec.backup. */
  public static Map<String, String> archiveParameters(PgCluster cluster) {
    Map<String, String> params = new LinkedHashMap<>();
    if (!enabled(cluster)) {
      return params;
    }
    params.put("archive_mode", "on");
    // $CONFIG_DIR: the shell that runs archive_command expands it from the server's environment.
    params.put("archive_command", "'bash \"$CONFIG_DIR/" + ARCHIVE_SCRIPT + "\" %p'");
    return params;
  }

  /** PGBACKREST_* for every container of an instance pod; empty without spec.backup. */
  public static List<EnvVar> env(PgCluster cluster) {
    List<EnvVar> env = new ArrayList<>();
    if (!enabled(cluster)) {
      return env;
    }
    BackupSpec backup = cluster.getSpec().backup;
    BackupSpec.S3Spec s3 = backup.repository.s3;
    env.add(value("PGBACKREST_STANZA", stanza(cluster)));
    env.add(value("PGBACKREST_REPO1_TYPE", "s3"));
    env.add(value("PGBACKREST_REPO1_PATH", repositoryPath(cluster)));
    env.add(value("PGBACKREST_REPO1_S3_BUCKET", s3.bucket));
    env.add(value("PGBACKREST_REPO1_S3_ENDPOINT", s3.endpoint));
    env.add(value("PGBACKREST_REPO1_STORAGE_PORT", Integer.toString(s3.port != null ? s3.port : 443)));
    env.add(value("PGBACKREST_REPO1_S3_REGION", s3.region != null ? s3.region : "us-east-1"));
    env.add(value("PGBACKREST_REPO1_S3_URI_STYLE", s3.uriStyle != null ? s3.uriStyle : "host"));
    env.add(secret("PGBACKREST_REPO1_S3_KEY", s3.credentials.secret,
        Optional.ofNullable(s3.credentials.accessKeyIdKey).orElse(DEFAULT_ACCESS_KEY_ID_KEY)));
    env.add(secret("PGBACKREST_REPO1_S3_KEY_SECRET", s3.credentials.secret,
        Optional.ofNullable(s3.credentials.secretAccessKeyKey).orElse(DEFAULT_SECRET_ACCESS_KEY_KEY)));
    if (s3.caSecret != null) {
      env.add(value("PGBACKREST_REPO1_STORAGE_CA_FILE",
          CA_MOUNT + "/" + Optional.ofNullable(s3.caSecret.key).orElse(DEFAULT_CA_KEY)));
    }
    int retention = backup.retention != null && backup.retention.fullBackups != null
        ? backup.retention.fullBackups : DEFAULT_RETENTION_FULL;
    env.add(value("PGBACKREST_REPO1_RETENTION_FULL", Integer.toString(retention)));
    env.add(value("PGBACKREST_PG1_PATH", StatefulSetRenderer.PGDATA));
    env.add(value("PGBACKREST_PG1_PORT", Integer.toString(PgClusterNames.POSTGRES_PORT)));
    env.add(value("PGBACKREST_PG1_SOCKET_PATH", StatefulSetRenderer.SOCKET_MOUNT));
    env.add(value("PGBACKREST_PG1_USER", PgClusterNames.SUPERUSER));
    env.add(value("PGBACKREST_LOCK_PATH", LOCK_PATH));
    env.add(value("PGBACKREST_SPOOL_PATH", SPOOL_PATH));
    env.add(value("PGBACKREST_ARCHIVE_ASYNC", "y"));
    env.add(value("PGBACKREST_ARCHIVE_TIMEOUT", Integer.toString(ARCHIVE_PUSH_TIMEOUT_SECONDS)));
    String queue = backup.archive != null && backup.archive.maxQueueSize != null
        ? backup.archive.maxQueueSize : DEFAULT_MAX_QUEUE;
    env.add(value("PGBACKREST_ARCHIVE_PUSH_QUEUE_MAX", Long.toString(bytes(queue))));
    // lz4: a fraction of gzip's CPU for most of its ratio; archiving competes with the workload.
    env.add(value("PGBACKREST_COMPRESS_TYPE", "lz4"));
    env.add(value("PGBACKREST_START_FAST", "y"));
    // Messages go to the PostgreSQL log (archive-push) or to the agent (backup); no log files.
    env.add(value("PGBACKREST_LOG_LEVEL_FILE", "off"));
    env.add(value("PGBACKREST_LOG_LEVEL_CONSOLE", "warn"));
    env.add(value("PGBACKREST_LOG_LEVEL_STDERR", "off"));
    return env;
  }

  /** What the init container needs to restore the first primary; empty unless bootstrap.recovery. */
  public static List<EnvVar> recoveryEnv(PgCluster cluster) {
    List<EnvVar> env = new ArrayList<>();
    RecoverySpec recovery = cluster.getSpec().bootstrap.recovery;
    if (recovery == null || !enabled(cluster)) {
      return env;
    }
    env.add(value("RECOVERY_STANZA", recovery.source));
    env.add(value("RECOVERY_REPO_PATH", recovery.repositoryPath != null ? recovery.repositoryPath
        : repositoryPath(cluster)));
    if (recovery.target != null && recovery.target.time != null) {
      env.add(value("RECOVERY_TARGET_TYPE", "time"));
      env.add(value("RECOVERY_TARGET", recoveryTime(recovery.target.time)));
    } else if (recovery.target != null && recovery.target.lsn != null) {
      env.add(value("RECOVERY_TARGET_TYPE", "lsn"));
      env.add(value("RECOVERY_TARGET", recovery.target.lsn.toUpperCase(java.util.Locale.ROOT)));
    } else {
      env.add(value("RECOVERY_TARGET_TYPE", "default"));
    }
    return env;
  }

  /**
   * RFC 3339 as pgBackRest and PostgreSQL both read it: pgBackRest picks the backup set from it and
   * does not take the 'T' form.
   */
  static String recoveryTime(String rfc3339) {
    OffsetDateTime t = OffsetDateTime.parse(rfc3339).withOffsetSameInstant(ZoneOffset.UTC);
    return t.format(DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSSSSS")) + "+00";
  }

  public static List<VolumeMount> mounts(PgCluster cluster) {
    if (!enabled(cluster) || cluster.getSpec().backup.repository.s3.caSecret == null) {
      return List.of();
    }
    return List.of(new VolumeMountBuilder().withName("backup-ca").withMountPath(CA_MOUNT).withReadOnly(true).build());
  }

  public static List<Volume> volumes(PgCluster cluster) {
    if (!enabled(cluster) || cluster.getSpec().backup.repository.s3.caSecret == null) {
      return List.of();
    }
    return List.of(new VolumeBuilder().withName("backup-ca").withNewSecret()
        .withSecretName(cluster.getSpec().backup.repository.s3.caSecret.name).endSecret().build());
  }

  /** 4Gi -> bytes (the CRD's pattern allows Mi, Gi, Ti). */
  static long bytes(String size) {
    long n = Long.parseLong(size.substring(0, size.length() - 2));
    return switch (size.substring(size.length() - 2)) {
      case "Mi" -> n << 20;
      case "Gi" -> n << 30;
      case "Ti" -> n << 40;
      default -> throw new IllegalArgumentException("not a size: " + size);
    };
  }

  private static EnvVar value(String name, String value) {
    return new EnvVarBuilder().withName(name).withValue(value).build();
  }

  private static EnvVar secret(String name, String secret, String key) {
    return new EnvVarBuilder().withName(name).withNewValueFrom().withNewSecretKeyRef().withName(secret).withKey(key)
        .endSecretKeyRef().endValueFrom().build();
  }
}
