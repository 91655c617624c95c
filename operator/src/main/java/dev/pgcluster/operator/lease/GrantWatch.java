package dev.pgcluster.operator.lease;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * The operator's view of each primary's grant: when it last saw the holder's agent renew the primary
 * Lease, timed on this process's monotonic clock only. Comparing the Lease's renewTime (the agent's
 * wall clock) with ours would make clock offsets between nodes part of the safety argument; this way
 * only the rate of two clocks matters (see docs/high-availability.md, "Self-fencing").
 *
 * <p>The agent fences its PostgreSQL once {@code duration - margin} has passed since it started its
 * last successful renewal, which is before the operator can have seen that renewal. So once the
 * operator has seen no renewal for {@code duration}, the holder has stopped taking writes.
 *
 * <p>In memory: a new operator leader knows nothing of earlier renewals and counts from its first
 * look, which only makes it wait longer.
 */
public final class GrantWatch {

  /**
   * @param holderSilent the holder has not renewed for a whole lease duration: its grant is over
   * @param silence how long since the operator first saw the holder's latest renewal
   * @param formerGrantLeft how long the former holder (of the epoch before) may still take writes;
   *     zero when its grant is surely over
   */
  public record Grant(boolean holderSilent, Duration silence, Duration formerGrantLeft) {
    public static final Grant NONE = new Grant(false, Duration.ZERO, Duration.ZERO);
  }

  private record Seen(String holder, int epoch, java.time.Instant renewedAt, long changedAt, long readAt) {}

  private record FormerEnd(int epoch, long endsAt) {}

  private final Map<String, Seen> seen = new ConcurrentHashMap<>();
  private final Map<String, FormerEnd> formerEnds = new ConcurrentHashMap<>();
  private final LongSupplier nanos;

  public GrantWatch(LongSupplier nanos) {
    this.nanos = nanos;
  }

  public GrantWatch() {
    this(System::nanoTime);
  }

  /** One fresh read of the cluster's primary Lease (not from a cache). */
  public synchronized Grant observe(String cluster, PrimaryRecord record) {
    long now = nanos.getAsLong();
    long duration = record.leaseDuration().toNanos();
    Seen previous = seen.get(cluster);
    // Not looking for a while (the API server was unreachable): the agent could not renew either, so
    // it gets a whole duration from now rather than being declared silent at once.
    boolean blind = previous == null || now - previous.readAt() > duration + Duration.ofSeconds(2).toNanos();
    boolean changed = blind || !previous.holder().equals(record.holder()) || previous.epoch() != record.epoch()
        || !java.util.Objects.equals(previous.renewedAt(), record.renewedAt());
    long changedAt = changed ? now : previous.changedAt();
    if (previous == null || previous.epoch() != record.epoch()) {
      long ends = !blind && previous.epoch() == record.epoch() - 1 ? previous.changedAt() + duration : now + duration;
      FormerEnd known = formerEnds.get(cluster);
      if (known == null || known.epoch() != record.epoch()) {
        formerEnds.put(cluster, new FormerEnd(record.epoch(), ends));
      }
    }
    seen.put(cluster, new Seen(record.holder(), record.epoch(), record.renewedAt(), changedAt, now));
    FormerEnd former = formerEnds.get(cluster);
    long left = former == null || former.epoch() != record.epoch() || record.formerReadOnly() ? 0
        : Math.max(0, former.endsAt() - now);
    long silence = now - changedAt;
    return new Grant(silence >= duration, Duration.ofNanos(silence), Duration.ofNanos(left));
  }

  public void forget(String cluster) {
    seen.remove(cluster);
    formerEnds.remove(cluster);
  }
}
