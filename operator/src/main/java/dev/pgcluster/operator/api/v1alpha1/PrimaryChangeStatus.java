package dev.pgcluster.operator.api.v1alpha1;

/** The last change of primary (failover or switchover), as recorded in the primary Lease. */
public class PrimaryChangeStatus {
  /** The former primary. */
  public String from;
  /** The new primary. */
  public String to;
  /** The epoch the change opened (the Lease's transitions). */
  public Integer epoch;
  /** When the Lease changed hands (RFC 3339). */
  public String at;
  /** When the new primary was promoted (RFC 3339); empty while the change is under way. */
  public String promotedAt;
  /** Seconds from the change of the Lease to the promotion (fencing, catch-up check, pg_promote). */
  public Double promotionSeconds;
  /** Why. */
  public String reason;
  /**
   * What the change cost, once known: when the former primary rejoined, what pg_rewind threw away of
   * its data past the fork point. Empty while it has not rejoined (or never had data to rewind).
   */
  public RewindStatus rewind;
}
