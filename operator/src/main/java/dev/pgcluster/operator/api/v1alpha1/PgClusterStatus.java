package dev.pgcluster.operator.api.v1alpha1;

import io.fabric8.kubernetes.api.model.Condition;
import java.util.ArrayList;
import java.util.List;

/** Observed state, written only by the operator. */
public class PgClusterStatus {
  public Long observedGeneration;
  public ClusterPhase phase;
  public List<Condition> conditions = new ArrayList<>();
  /** Pod name of the primary, as recorded in the primary Lease. */
  public String currentPrimary;
  /** Primary epoch: the Lease's leaseTransitions; moves forward on every change of primary. */
  public Integer primaryEpoch;
  /** True once the first primary finished initdb; from then on initdb is never run again. */
  public Boolean initialized;
  @io.fabric8.kubernetes.model.annotation.StatusReplicas
  public Integer readyInstances;
  /** The primary's live synchronous_standby_names (set by the operator with ALTER SYSTEM). */
  public String synchronousStandbyNames;
  /** How replication stands: asynchronous, synchronous with its quorum, or why commits wait. */
  public String replication;
  /** The last failover or switchover. */
  public PrimaryChangeStatus lastPrimaryChange;
  public List<InstanceStatus> instances = new ArrayList<>();
  /**
   * Instances being created (a new cluster's first standbys, a scale-up's new ones) and not ready yet:
   * not counted as a degradation. Empty once they are ready.
   */
  public List<String> creatingInstances;
  /** Archiving and backups (spec.backup). */
  public BackupStatus backup;
  /** The certificates served (spec.tls.enabled). */
  public TlsStatus tls;
  /** The declared roles (spec.roles), and roles the operator created that are no longer declared. */
  @com.fasterxml.jackson.annotation.JsonPropertyDescription("The declared roles (spec.roles) as they stand on the"
      + " primary, and roles the operator created that are no longer declared (kept).")
  public List<RoleStatus> roles;

  @com.fasterxml.jackson.annotation.JsonPropertyDescription("spec.logicalReplication on the primary: the pglogical"
      + " node, its tables, its subscriptions.")
  public LogicalReplicationStatus logicalReplication;
}
