package dev.pgcluster.operator.ha;

/**
 * What one SQL probe of an instance returned. For a primary {@code receivedLsn} is its current WAL
 * position; for a standby the last received LSN. {@code detached}: a standby whose upstream the
 * operator cut during a failover (primary_conninfo emptied) and has not restored yet.
 */
public record InstanceFacts(
    boolean inRecovery, long timeline, String receivedLsn, String replayedLsn, Double replayLagSeconds,
    boolean detached) {

  public InstanceFacts(boolean inRecovery, long timeline, String receivedLsn, String replayedLsn,
      Double replayLagSeconds) {
    this(inRecovery, timeline, receivedLsn, replayedLsn, replayLagSeconds, false);
  }
}
