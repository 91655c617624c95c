package dev.pgcluster.operator.status;

/** The fixed set of condition types and their stable CamelCase reasons. */
public final class ConditionTypes {
  public static final String READY = "Ready";
  public static final String PROGRESSING = "Progressing";
  public static final String DEGRADED = "Degraded";

  private ConditionTypes() {}

  /** Stable reasons: tools and alerts may match on them. */
  public static final class Reasons {
    public static final String INVALID_SPEC = "InvalidSpec";
    public static final String ALL_INSTANCES_READY = "AllInstancesReady";
    public static final String INSTANCES_NOT_READY = "InstancesNotReady";
    public static final String PRIMARY_UNAVAILABLE = "PrimaryUnavailable";
    public static final String BOOTSTRAPPING = "Bootstrapping";
    public static final String SCALING = "Scaling";
    public static final String RECONCILED = "Reconciled";
    public static final String AS_EXPECTED = "AsExpected";
    /** Degraded=False: the instances not ready yet are being created (bootstrap, scale-up). */
    public static final String CREATING_INSTANCES = "CreatingInstances";
    public static final String REPLICATION_SLOT_LOST = "ReplicationSlotLost";
    public static final String SYNC_STANDBYS_MISSING = "SynchronousStandbysMissing";
    public static final String SYNC_QUORUM_REDUCED = "SynchronousQuorumReduced";
    public static final String ROLLING_OUT = "RollingOut";
    public static final String INVALID_CONFIGURATION = "InvalidConfiguration";
    public static final String PRIMARY_RECORD_MISSING = "PrimaryRecordMissing";
    public static final String ARCHIVE_FAILING = "ArchiveFailing";
    /** Degraded=True: the user fenced instances (annotation pgcluster.dev/fenced-instances). */
    public static final String INSTANCES_FENCED = "InstancesFenced";
    /** Progressing=True: data claims requested at storage.size whose volumes have not grown yet. */
    public static final String RESIZING_VOLUMES = "ResizingVolumes";
    /** Degraded=True: the API server refused to grow a data claim (its storage class does not allow it). */
    public static final String VOLUME_RESIZE_FAILED = "VolumeResizeFailed";
    public static final String RECOVERY_FAILED = "RecoveryFailed";

    private Reasons() {}
  }
}
