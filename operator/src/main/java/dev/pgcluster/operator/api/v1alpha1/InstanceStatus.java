package dev.pgcluster.operator.api.v1alpha1;

/** What the operator last observed of one instance. */
public class InstanceStatus {
  public String name;
  public InstanceRole role;
  public Boolean ready;
  /** Whether the operator could reach PostgreSQL over SQL in its last probe. */
  public Boolean reachable;
  public Long timeline;
  /** Primary: current WAL write LSN. Standby: how far its WAL goes (received or replayed, the further). */
  public String receivedLsn;
  /** Standby: last LSN replayed. */
  public String replayedLsn;
  /** Standby: bytes of WAL between the primary's current LSN and this standby's replay LSN. */
  public Long lagBytes;
  /** Standby: seconds since the last replayed transaction's commit time on the primary (0 when caught up). */
  public Double lagSeconds;
  /**
   * Fenced by the user (annotation pgcluster.dev/fenced-instances): never promoted; a standby is behind no
   * Service, a primary takes no new write transaction. Absent when not fenced.
   */
  public Boolean fenced;
  /** The size of its data volume (its claim's status.capacity), once bound. */
  public String volumeSize;
  /** Standby: sync_state as the primary reports it (async, potential, sync, quorum). */
  public String syncState;
  /**
   * What the next restart of this instance brings ("shared_buffers 128MB -> 256MB", "pod template"):
   * the operator rolls restarts out one instance at a time. Absent when nothing waits.
   */
  public java.util.List<String> pendingRestart;
}
