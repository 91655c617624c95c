package dev.pgcluster.operator.reconcile;

/**
 * The reasons of the Kubernetes events the operator records on a {@code PgCluster} (listed in
 * docs/api.md, "Events"). Warnings are for what someone may have to look at; normal operations emit
 * none. A degraded condition's own reason (see ConditionTypes.Reasons) is also emitted as a warning
 * when it first appears, then {@link #RECOVERED}; a phase change as {@code Phase<phase>}.
 */
public final class EventReasons {
  private EventReasons() {}

  /** Normal: the operator's CA issued the instances' server certificate (first, or again before expiry). */
  public static final String CERTIFICATE_ISSUED = "CertificateIssued";
  /** Normal: a new cluster's first primary is chosen (epoch 0). */
  public static final String PRIMARY_ELECTED = "PrimaryElected";
  /** Normal: the first primary is up; initdb never runs again for this cluster. */
  public static final String CLUSTER_INITIALIZED = "ClusterInitialized";
  /** Warning: the primary Lease was missing while the cluster holds data, and was rebuilt from the instances. */
  public static final String PRIMARY_RECORD_REBUILT = "PrimaryRecordRebuilt";
  /** Warning: the primary Lease is missing and no instance answers yet: nothing is promoted or created. */
  public static final String PRIMARY_RECORD_MISSING = "PrimaryRecordMissing";
  /** Warning: the primary Lease's holder was edited by someone else; the recorded holder is put back. */
  public static final String PRIMARY_LEASE_EDITED = "PrimaryLeaseEdited";
  /** Warning: the primary failed and the Lease moved to a standby (why, and whether commits may be lost). */
  public static final String FAILOVER_STARTED = "FailoverStarted";
  /** Warning: a former primary's pod was deleted before a standby is promoted. */
  public static final String FENCED = "Fenced";
  /** Normal: the Lease holder was promoted (how long it took). */
  public static final String PROMOTED = "Promoted";
  /** Warning: another standby received more WAL than the holder: it is promoted instead. */
  public static final String PROMOTION_DEFERRED = "PromotionDeferred";
  /** Normal: a switchover (asked for, or planned by a rollout) began. */
  public static final String SWITCHOVER_STARTED = "SwitchoverStarted";
  /** Warning: the switchover target did not catch up in time; the primary takes writes again. */
  public static final String SWITCHOVER_ABORTED = "SwitchoverAborted";
  /** Normal: a former primary was rewound and rejoined; nothing it had was thrown away. */
  public static final String FORMER_PRIMARY_REWOUND = "FormerPrimaryRewound";
  /** Warning: pg_rewind threw away transactions of the former primary (count, commit-time range). */
  public static final String TRANSACTIONS_DISCARDED = "TransactionsDiscarded";
  /** Warning: a standby on an older timeline did not stream from the primary: restarted so that it is rewound. */
  public static final String STANDBY_RESTARTED = "StandbyRestarted";
  /** Normal: a pod was restarted to take a new template (a rolling update). */
  public static final String RESTARTED_FOR_UPDATE = "RestartedForUpdate";
  /** Normal: an instance reloaded its configuration. */
  public static final String CONFIGURATION_RELOADED = "ConfigurationReloaded";
  /** Normal: synchronous_standby_names or synchronous_commit changed on the primary. */
  public static final String SYNCHRONOUS_REPLICATION_CHANGED = "SynchronousReplicationChanged";
  /** The primary's default_transaction_read_only changed: the user fenced it, or unfenced it. */
  public static final String PRIMARY_WRITES_CHANGED = "PrimaryWritesChanged";
  /** A data claim's request was raised to spec.storage.size. */
  public static final String VOLUME_GROWING = "VolumeGrowing";
  /** Normal: the StatefulSet was updated to the spec. */
  public static final String STATEFUL_SET_UPDATED = "StatefulSetUpdated";
  /** Normal: a degraded condition is resolved. */
  public static final String RECOVERED = "Recovered";
  /** Prefix of a phase change's reason ({@code PhaseHealthy}, {@code PhaseDegraded}, ...). */
  public static final String PHASE = "Phase";
  /** Warning: a PgBackup cannot be taken (no such cluster, no spec.backup, the primary changed under it). */
  public static final String BACKUP_FAILED = "BackupFailed";
  /** Normal: the schedule (spec.backup.schedule) created a PgBackup. */
  public static final String BACKUP_SCHEDULED = "BackupScheduled";
  /** Warning: restoring the first primary from the store failed (pgBackRest's or PostgreSQL's message). */
  public static final String RECOVERY_FAILED = "RecoveryFailed";
  /** The pooler's Deployment changed (spec.pooler). */
  public static final String POOLER_UPDATED = "PoolerUpdated";
  /** spec.pooler was taken out: the pooler's objects were deleted. */
  public static final String POOLER_REMOVED = "PoolerRemoved";
  /** The pooler's objects could not be applied (the message says why); the instances are not affected. */
  public static final String POOLER_FAILED = "PoolerFailed";
  /** The pooler's clients, held while the primary moved, were let through. */
  public static final String POOLER_RESUMED = "PoolerResumed";
  /** Normal: a role of spec.roles was created, changed (attributes, memberships, password) or dropped. */
  public static final String ROLE_UPDATED = "RoleUpdated";
  /** Warning: a role of spec.roles could not be made as declared (the field or PostgreSQL's message). */
  public static final String ROLE_FAILED = "RoleFailed";
  /** Normal: a role the operator created was taken out of spec.roles; it is kept, not dropped. */
  public static final String ROLE_KEPT = "RoleKept";
  /** Normal: spec.logicalReplication: the pglogical node was created, a table published, a subscription made or dropped. */
  public static final String LOGICAL_REPLICATION_UPDATED = "LogicalReplicationUpdated";
  /** Warning: a step of spec.logicalReplication failed, or tables were left out (the message says which and why). */
  public static final String LOGICAL_REPLICATION_FAILED = "LogicalReplicationFailed";
  /** Normal: a subscription is replicating (again). */
  public static final String SUBSCRIPTION_REPLICATING = "SubscriptionReplicating";
  /** Warning: a subscription is down (pglogical's apply worker stopped: the provider unreachable, a conflict with error). */
  public static final String SUBSCRIPTION_DOWN = "SubscriptionDown";
  /**
   * Warning: a subscriber's logical slot was created again on a new primary (failover or switchover); the
   * message names the changes its subscriber does not receive.
   */
  public static final String LOGICAL_SLOT_RECREATED = "LogicalSlotRecreated";
  /** Normal: the primary's role label moved, so the -rw Service (and the pooler behind it) routes to it. */
  public static final String SERVICES_SWITCHED = "ServicesSwitched";
}
