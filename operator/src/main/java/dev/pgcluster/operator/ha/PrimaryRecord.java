package dev.pgcluster.operator.ha;

/**
 * The primary Lease as a value: who is primary, in which epoch, and whether the cluster was ever
 * initialized. {@code resourceVersion} is what a compare-and-swap must match.
 *
 * @param fencePod a former primary still to be fenced (its pod deleted) before anyone is promoted
 * @param fenceUid the uid of that pod: a recreated pod of the same name is not fenced again
 * @param changedAt when the holder last changed (the Lease's acquireTime)
 * @param lastChange why it last changed
 * @param switchoverId the id of the last switchover done (spec.switchover.id)
 * @param promotedAt when the holder of this epoch was promoted (null before, and for epoch 0)
 * @param renewedAt the Lease's renewTime: written by the holder's agent while it is a healthy primary
 * @param leaseDurationSeconds how long the holder's right to take writes lasts without a renewal
 * @param formerReadOnly the former primary was made read-only by the operator itself before the Lease
 *     moved (a switchover), so the new holder need not wait for its grant to run out
 * @param rewindReport what the former primary's rejoin discarded (JSON from its init container), null
 *     until it rejoined
 * @param editedHolder the Lease's holderIdentity when someone other than the operator changed it (then
 *     {@code holder} is still the operator's record); null when it agrees
 * @param forced the holder was named by a forced promotion (spec.switchover with force): it is promoted
 *     even if another standby received more
 */
public record PrimaryRecord(String holder, int epoch, boolean initialized, String resourceVersion, String fencePod,
    String fenceUid, java.time.Instant changedAt, String lastChange, String switchoverId,
    java.time.Instant promotedAt, java.time.Instant renewedAt, int leaseDurationSeconds, boolean formerReadOnly,
    String rewindReport, String editedHolder, boolean forced) {

  public PrimaryRecord(String holder, int epoch, boolean initialized, String resourceVersion, String fencePod,
      String fenceUid, java.time.Instant changedAt, String lastChange, String switchoverId,
      java.time.Instant promotedAt, java.time.Instant renewedAt, int leaseDurationSeconds, boolean formerReadOnly,
      String rewindReport, String editedHolder) {
    this(holder, epoch, initialized, resourceVersion, fencePod, fenceUid, changedAt, lastChange, switchoverId,
        promotedAt, renewedAt, leaseDurationSeconds, formerReadOnly, rewindReport, editedHolder, false);
  }

  public PrimaryRecord(String holder, int epoch, boolean initialized, String resourceVersion, String fencePod,
      String fenceUid, java.time.Instant changedAt, String lastChange, String switchoverId,
      java.time.Instant promotedAt, java.time.Instant renewedAt, int leaseDurationSeconds, boolean formerReadOnly,
      String rewindReport) {
    this(holder, epoch, initialized, resourceVersion, fencePod, fenceUid, changedAt, lastChange, switchoverId,
        promotedAt, renewedAt, leaseDurationSeconds, formerReadOnly, rewindReport, null);
  }

  public PrimaryRecord(String holder, int epoch, boolean initialized, String resourceVersion, String fencePod,
      String fenceUid, java.time.Instant changedAt, String lastChange, String switchoverId,
      java.time.Instant promotedAt, java.time.Instant renewedAt, int leaseDurationSeconds, boolean formerReadOnly) {
    this(holder, epoch, initialized, resourceVersion, fencePod, fenceUid, changedAt, lastChange, switchoverId,
        promotedAt, renewedAt, leaseDurationSeconds, formerReadOnly, null, null);
  }

  public static final int DEFAULT_LEASE_DURATION_SECONDS = 4;

  public PrimaryRecord(String holder, int epoch, boolean initialized, String resourceVersion, String fencePod,
      String fenceUid, java.time.Instant changedAt, String lastChange, String switchoverId,
      java.time.Instant promotedAt) {
    this(holder, epoch, initialized, resourceVersion, fencePod, fenceUid, changedAt, lastChange, switchoverId,
        promotedAt, null, DEFAULT_LEASE_DURATION_SECONDS, false);
  }

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

  public java.time.Duration leaseDuration() {
    return java.time.Duration.ofSeconds(leaseDurationSeconds);
  }
}
