package dev.pgcluster.operator.backup;

import dev.pgcluster.operator.api.v1alpha1.PgBackupStatus;

/**
 * Where a requested base backup runs, decided from the backup's status and its cluster. Pure. Backups
 * run on the primary: pgBackRest takes a backup from a standby only with a connection to the primary's
 * host as well (its TLS server), which the instance pods do not run yet.
 */
public final class BackupAssignment {

  /** What the operator knows of the cluster a backup names; null when the cluster does not exist. */
  public record Cluster(boolean backupConfigured, boolean initialized, String primary, boolean primaryHealthy) {}

  public sealed interface Step permits Fail, Assign, Wait, Keep {}

  /** The backup cannot be taken; say why. */
  public record Fail(String message) implements Step {}

  /** Hand it to this instance's agent. */
  public record Assign(String instance) implements Step {}

  /** Not yet; say what it waits for. */
  public record Wait(String message) implements Step {}

  /** Nothing to change. */
  public record Keep() implements Step {}

  private BackupAssignment() {}

  public static Step decide(String clusterName, PgBackupStatus status, Cluster cluster) {
    String phase = status == null ? null : status.phase;
    if (PgBackupStatus.COMPLETED.equals(phase) || PgBackupStatus.FAILED.equals(phase)) {
      return new Keep();
    }
    if (cluster == null) {
      return new Fail("PgCluster " + clusterName + " does not exist in this namespace (spec.cluster)");
    }
    if (!cluster.backupConfigured()) {
      return new Fail("PgCluster " + clusterName + " has no spec.backup: there is no store to back up to");
    }
    boolean assigned = status != null && status.instance != null
        && (PgBackupStatus.PENDING.equals(phase) || PgBackupStatus.RUNNING.equals(phase));
    if (assigned) {
      if (cluster.primary() != null && !status.instance.equals(cluster.primary())) {
        return new Fail("the primary changed from " + status.instance + " to " + cluster.primary()
            + " before the backup finished; create a new PgBackup");
      }
      return new Keep();
    }
    if (!cluster.initialized() || cluster.primary() == null || !cluster.primaryHealthy()) {
      return new Wait("waiting for " + clusterName + " to have a healthy primary");
    }
    return new Assign(cluster.primary());
  }
}
