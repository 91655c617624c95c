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
  /** Why. */
  public String reason;
}
