package dev.pgcluster.operator.lease;

/**
 * The primary Lease as a value: who is primary, in which epoch, and whether the cluster was ever
 * initialized. {@code resourceVersion} is what a compare-and-swap must match.
 */
/**
 * @param fencePod a former primary still to be fenced (its pod deleted) before anyone is promoted
 * @param fenceUid the uid of that pod: a recreated pod of the same name is not fenced again
 * @param changedAt when the holder last changed (the Lease's acquireTime)
 * @param lastChange why it last changed
 * @param switchoverId the id of the last switchover done (spec.switchover.id)
 * @param promotedAt when the holder of this epoch was promoted (null before, and for epoch 0)
 */
public record PrimaryRecord(String holder, int epoch, boolean initialized, String resourceVersion, String fencePod,
    String fenceUid, java.time.Instant changedAt, String lastChange, String switchoverId,
    java.time.Instant promotedAt) {

  public PrimaryRecord(String holder, int epoch, boolean initialized, String resourceVersion, String fencePod,
      String fenceUid, java.time.Instant changedAt, String lastChange, String switchoverId) {
    this(holder, epoch, initialized, resourceVersion, fencePod, fenceUid, changedAt, lastChange, switchoverId, null);
  }

  public PrimaryRecord(String holder, int epoch, boolean initialized, String resourceVersion) {
    this(holder, epoch, initialized, resourceVersion, null, null, null, null, null);
  }

  public PrimaryRecord(String holder, int epoch, boolean initialized, String resourceVersion, String fencePod,
      String fenceUid, java.time.Instant changedAt, String lastChange) {
    this(holder, epoch, initialized, resourceVersion, fencePod, fenceUid, changedAt, lastChange, null);
  }
}
