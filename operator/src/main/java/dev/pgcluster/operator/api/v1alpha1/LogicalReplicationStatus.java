package dev.pgcluster.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import java.util.ArrayList;
import java.util.List;

/** Where spec.logicalReplication stands on the primary. */
public class LogicalReplicationStatus {
  @JsonPropertyDescription("This cluster's pglogical node, once created.")
  public String node;

  @JsonPropertyDescription("Why the node is not set up yet (for example the instances restarting with pglogical loaded).")
  public String waiting;

  @JsonPropertyDescription("The conflict rule the subscriptions' apply workers run with (they read it when they"
      + " start: after a change of spec.logicalReplication.conflictResolution the operator restarts them).")
  public String conflictResolution;

  @JsonPropertyDescription("Tables this node publishes (its pglogical replication set).")
  public List<String> tables = new ArrayList<>();

  @JsonPropertyDescription("Tables of the publication left out: they have no primary key, which pglogical needs to"
      + " replicate updates and deletes. Add one and they are published.")
  public List<String> tablesWithoutPrimaryKey = new ArrayList<>();

  @JsonPropertyDescription("Each subscription of spec.logicalReplication.")
  public List<LogicalSubscriptionStatus> subscriptions = new ArrayList<>();

  @JsonPropertyDescription("pglogical slots on the primary: one per node subscribed to this one. PostgreSQL 15 does"
      + " not carry them to a standby: after a failover or switchover the operator creates them again on the new"
      + " primary (see recreated).")
  public List<SlotStatus> slots = new ArrayList<>();

  /** One logical slot of a subscriber, as the provider's primary holds it. */
  public static class SlotStatus {
    @JsonPropertyDescription("Slot name (pglogical's: pgl_DATABASE_PROVIDER_SUBSCRIPTION).")
    public String name;

    @JsonPropertyDescription("A subscriber streams from it now.")
    public Boolean active;

    @JsonPropertyDescription("WAL the subscriber has not confirmed yet, in bytes (what the slot keeps on disk).")
    public Long lagBytes;

    @JsonPropertyDescription("The last position the subscriber confirmed.")
    public String confirmedLsn;

    @JsonPropertyDescription("The primary epoch (status.primaryEpoch) the slot was last seen in.")
    public Integer epoch;

    @JsonPropertyDescription("When the slot was created again on a new primary: what its subscriber may have missed.")
    public String recreated;

    @JsonPropertyDescription("With recreated: the last position the subscriber was seen to confirm before the new"
        + " primary. Changes committed up to it reached the subscriber.")
    public String gapFrom;

    @JsonPropertyDescription("With recreated: where the new slot begins. Changes committed from it on reach the"
        + " subscriber; those between gapFrom and gapTo may not have.")
    public String gapTo;
  }

  /** One subscription's state. */
  public static class LogicalSubscriptionStatus {
    @JsonPropertyDescription("Subscription name.")
    public String name;

    @JsonPropertyDescription("pglogical's state (replicating, initializing, down), or failed (not created: see"
        + " message).")
    public String state;

    @JsonPropertyDescription("Why it is down or failed.")
    public String message;

    public LogicalSubscriptionStatus() {}

    public LogicalSubscriptionStatus(String name, String state, String message) {
      this.name = name;
      this.state = state;
      this.message = message;
    }
  }
}
