package dev.pgcluster.operator.api.v1alpha1;

/**
 * What became of the backup. The operator assigns it to an instance (Pending); that instance's agent
 * runs pgBackRest (Running) and records the result (Completed or Failed).
 */
public class PgBackupStatus {
  public static final String PENDING = "Pending";
  public static final String RUNNING = "Running";
  public static final String COMPLETED = "Completed";
  public static final String FAILED = "Failed";

  public String phase;
  /** The pod whose agent takes the backup. */
  public String instance;
  /** Why it failed, or what it waits for. */
  public String message;
  /** pgBackRest's label of the backup set, e.g. 20261201-093701F. */
  public String label;
  public String startedAt;
  public String stoppedAt;
  public String startLsn;
  public String stopLsn;
  /** First and last WAL segment the backup needs to be consistent. */
  public String startWal;
  public String stopWal;
  /** Size of the database, and of the backup set on the store (compressed). */
  public Long databaseBytes;
  public Long repositoryBytes;
  /**
   * The store as it stood when this backup finished: the oldest backup still kept (after retention)
   * and the archived WAL range. A restore can reach any time from the oldest backup's end on.
   */
  public String firstRecoverabilityPoint;
  public String oldestBackup;
  public Integer backupsKept;
  public String walArchiveMin;
  public String walArchiveMax;
}
