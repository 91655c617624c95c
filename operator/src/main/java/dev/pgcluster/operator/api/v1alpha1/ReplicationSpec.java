package dev.pgcluster.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;

/** Replication mode of the standbys. */
public class ReplicationSpec {

  @Default("async")
  @JsonPropertyDescription("async: commits return before standbys confirm; sync: a quorum of standbys confirms each commit.")
  public ReplicationMode mode = ReplicationMode.ASYNC;

  @Default("any")
  @JsonPropertyDescription("Sync quorum method: any (ANY n of the standbys) or first (FIRST n in priority order).")
  public SyncMethod method = SyncMethod.ANY;

  @Default("1")
  @Min(1)
  @Max(8)
  @JsonPropertyDescription("Number of synchronous standbys that must confirm each commit in sync mode.")
  public Integer number = 1;

  @Default("required")
  @JsonPropertyDescription("required: block writes while fewer than number sync standbys are connected (RPO=0);"
      + " preferred: shrink the sync set to stay writable.")
  public Durability durability = Durability.REQUIRED;

  @Default("on")
  @JsonPropertyDescription("synchronous_commit level in sync mode: on, remote_write or remote_apply.")
  public SynchronousCommit synchronousCommit = SynchronousCommit.ON;

  @Default("true")
  @JsonPropertyDescription("Give every standby a physical replication slot on the primary.")
  public Boolean slots = true;

  @Default("10GB")
  @Pattern("^(-1|[0-9]+(kB|MB|GB|TB))$")
  @JsonPropertyDescription("max_slot_wal_keep_size: WAL a slot may retain before it is invalidated (-1: unbounded).")
  public String maxSlotWalKeepSize = "10GB";

  @JsonPropertyDescription("Standbys that apply WAL with a delay; never promoted, never synchronous.")
  public DelayedReplicasSpec delayedReplicas;
}
