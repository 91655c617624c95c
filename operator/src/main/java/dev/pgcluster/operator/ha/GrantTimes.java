package dev.pgcluster.operator.ha;

import java.time.Duration;

/**
 * The timings of a primary's grant, shared by the agent that holds it and the operator that waits
 * for its end. From the start of the agent's last successful renewal, the agent fences its PostgreSQL
 * at {@link #fenceAfter}. From the moment it saw that renewal (later), the operator begins a failover
 * at {@link #fenceAfter} (the Lease moves, the pod is deleted) and promotes another instance after the
 * whole lease duration, which leaves {@link #fenceMargin} for the fence itself and the clocks' rates.
 */
public final class GrantTimes {
  private GrantTimes() {}

  /**
   * How long before the end of its grant the agent fences: time for the fence itself (a SQL round
   * trip, else a signal) and for the two clocks' rates to differ. A quarter of the lease, at least 1 s.
   */
  public static Duration fenceMargin(Duration lease) {
    Duration quarter = lease.dividedBy(4);
    return quarter.compareTo(Duration.ofSeconds(1)) > 0 ? quarter : Duration.ofSeconds(1);
  }

  /** How long without a successful renewal the agent lets its primary take writes. */
  public static Duration fenceAfter(Duration lease) {
    return lease.minus(fenceMargin(lease));
  }

  /** How often the agent renews: five times per lease, at most once every 200 ms. */
  public static Duration renewPeriod(Duration lease) {
    Duration fifth = lease.dividedBy(5);
    return fifth.compareTo(Duration.ofMillis(200)) < 0 ? Duration.ofMillis(200) : fifth;
  }
}
