package dev.pgcluster.operator.api.v1alpha1;

/** Archiving and backups of a cluster with spec.backup, as last observed on its primary and its PgBackups. */
public class BackupStatus {
  /** From the primary's pg_stat_archiver. */
  public String lastArchivedWal;
  public String lastArchivedAt;
  public String lastFailedWal;
  public String lastFailedAt;
  /** pgBackRest's message for the last failure, while archiving is failing. */
  public String archiveError;
  /** Failed archive attempts on the current primary since it started (pg_stat_archiver.failed_count). */
  public Long archiveFailures;
  /** WAL segments the primary keeps until they are archived. */
  public Long walSegmentsWaiting;
  /** The newest completed PgBackup, and the store as it stood then. */
  public String lastBackup;
  public String lastBackupAt;
  public String firstRecoverabilityPoint;
  /** When the schedule last created a PgBackup (UTC, minute precision). */
  public String lastScheduledAt;
}
