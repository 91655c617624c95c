package dev.pgcluster.operator.ha;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Counts consecutive probe periods in which a cluster's Lease holder was not a reachable primary.
 * Reconciles can come in bursts; a failure counts at most once per probe period, so the threshold
 * means "failing for about threshold x period", never "failed a few reconciles in a row". In memory:
 * a new operator leader starts counting from zero, which only delays a failover.
 */
public final class PrimaryFailureTracker {
  private record Entry(String holder, int epoch, int failures, Instant lastCounted) {}

  private final Map<String, Entry> entries = new ConcurrentHashMap<>();

  /**
   * Records one observation; returns the consecutive failures so far (0 when healthy, and while the
   * holder's pod is {@code starting}: a primary that has not started yet has not failed).
   */
  public int observe(String cluster, String holder, int epoch, boolean healthy, boolean starting, Instant now,
      Duration period) {
    if (healthy || starting) {
      entries.remove(cluster);
      return 0;
    }
    Entry e = entries.get(cluster);
    if (e == null || !e.holder().equals(holder) || e.epoch() != epoch) {
      e = new Entry(holder, epoch, 1, now);
    } else if (Duration.between(e.lastCounted(), now).compareTo(period.multipliedBy(4).dividedBy(5)) >= 0) {
      e = new Entry(holder, epoch, e.failures() + 1, now);
    }
    entries.put(cluster, e);
    return e.failures();
  }
}
