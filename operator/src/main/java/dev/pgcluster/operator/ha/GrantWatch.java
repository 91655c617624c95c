package dev.pgcluster.operator.ha;

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
 * <p>The agent fences its PostgreSQL once {@link GrantTimes#fenceAfter} has passed since it started
 * its last successful renewal, which is before the operator can have seen that renewal. So once the
 * operator has seen no renewal for that long, the holder has fenced itself (or is doing it): the
 * failover may begin. Once it has seen none for the whole duration, the fence has had its margin to
 * complete: the promotion may begin ({@link Grant#formerGrantLeft} in the next epoch).
 *
 * <p>A holder whose first renewal the operator has not seen yet (a fresh primary, or one a new
 * operator leader has just started to watch) is not yet counted while it does not run as a primary,
 * since it takes no writes; once it does, it gets two durations: its agent is a JVM that starts beside
 * PostgreSQL, and on a busy node its first renewal can come seconds after PostgreSQL answers. The agent
 * fences by itself if that first renewal fails, so the allowance only delays the failover of a primary
 * whose agent never comes up.
 *
 * <p>In memory: a new operator leader knows nothing of earlier renewals and counts from its first
 * look, which only makes it wait longer.
 */
public final class GrantWatch {

  /**
   * @param holderFenced the holder has not renewed for its agent's fence deadline: it refuses writes, or
   *     is about to (its grant ends a fence margin later)
   * @param silence how long since the operator first saw the holder's latest renewal
   * @param untilFenced how long until {@code holderFenced} holds if no renewal comes (zero once it does)
   * @param formerGrantLeft how long the former holder (of the epoch before) may still take writes;
   *     zero when its grant is surely over
   * @param holderRenewing the holder's agent renewed within the last two of its renew periods: its
   *     PostgreSQL answers it as a primary (the agent renews only then), whatever the operator's probes say
   * @param readAt when the Lease this grant is computed from was read ({@link #now()}): durations are
   *     from then
   */
  public record Grant(boolean holderFenced, Duration silence, Duration untilFenced, Duration formerGrantLeft,
      boolean holderRenewing, long readAt) {
    public static final Grant NONE = new Grant(false, Duration.ZERO, Duration.ZERO, false);

    /** A fixed state, as the decision tables use (read at time 0, no deadline to time). */
    public Grant(boolean holderFenced, Duration silence, Duration formerGrantLeft, boolean holderRenewing) {
      this(holderFenced, silence, Duration.ZERO, formerGrantLeft, holderRenewing, 0);
    }

    /** {@code span} from the read this grant was computed at, less what has passed since ({@code now}). */
    public Duration fromNow(Duration span, long now) {
      return span.minusNanos(Math.max(0, now - readAt));
    }
  }

  /** {@code duration}: the lease duration the holder's agent may be counting with (nanoseconds). */
  private record Seen(PrimaryRecord record, long changedAt, long readAt, boolean renewalSeen, long duration) {
    String holder() {
      return record.holder();
    }

    int epoch() {
      return record.epoch();
    }

    java.time.Instant renewedAt() {
      return record.renewedAt();
    }
  }

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

  /** The clock reads are timed on: pass its value, taken right after a read, to {@link #observe}. */
  public long now() {
    return nanos.getAsLong();
  }

  /** One fresh read of the cluster's primary Lease (not from a cache), made just now. */
  public Grant observe(String cluster, PrimaryRecord record, boolean holderRunsAsPrimary) {
    return observe(cluster, record, holderRunsAsPrimary, nanos.getAsLong());
  }

  /**
   * One fresh read of the cluster's primary Lease (not from a cache), timed at {@code readAt}
   * ({@link #now()} right after the read): a read observed seconds later, after slow SQL probes, must
   * not make the holder look fenced for those seconds, and a read older than one already observed
   * changes nothing.
   *
   * @param holderRunsAsPrimary whether the holder's PostgreSQL was just seen running as a primary
   */
  public synchronized Grant observe(String cluster, PrimaryRecord record, boolean holderRunsAsPrimary,
      long readAt) {
    Seen previous = seen.get(cluster);
    if (previous != null && readAt < previous.readAt()) {
      // Older than what was seen: taken as the last read seen again (no renewal; a holder not yet
      // counted starts being counted, which only brings its two-duration allowance forward).
      record = previous.record();
      readAt = previous.readAt();
      holderRunsAsPrimary = true;
    }
    long now = readAt;
    long recorded = record.leaseDuration().toNanos();
    // Not looking for a while (the API server was unreachable): the agent could not renew either, so
    // it counts as a holder never seen renewing (two durations from now) rather than fenced at once.
    boolean blind = previous == null
        || now - previous.readAt() > Math.max(recorded, previous.duration()) + Duration.ofSeconds(2).toNanos();
    boolean sameGrant = !blind && previous.holder().equals(record.holder()) && previous.epoch() == record.epoch();
    boolean renewed = sameGrant && !java.util.Objects.equals(previous.renewedAt(), record.renewedAt());
    // A shortened lease reaches the agent with its next renewal (it reads the Lease to renew it): until
    // the operator sees one, the agent may still count with the longer duration it read before.
    long duration = sameGrant && !renewed ? Math.max(recorded, previous.duration()) : recorded;
    boolean renewalSeen = sameGrant && (previous.renewalSeen() || renewed);
    // Before its first renewal seen, a holder that does not run as a primary is not counted.
    boolean counting = renewalSeen || holderRunsAsPrimary;
    boolean changed = !sameGrant || renewed || !counting;
    long changedAt = changed ? now : previous.changedAt();
    if (previous == null || previous.epoch() != record.epoch()) {
      // A former holder never seen renewing may have renewed unseen just before: a whole duration from now.
      long formerDuration = previous == null ? recorded : Math.max(recorded, previous.duration());
      long ends = !blind && previous.epoch() == record.epoch() - 1 && previous.renewalSeen()
          ? previous.changedAt() + formerDuration : now + formerDuration;
      FormerEnd known = formerEnds.get(cluster);
      if (known == null || known.epoch() != record.epoch()) {
        formerEnds.put(cluster, new FormerEnd(record.epoch(), ends));
      }
    }
    seen.put(cluster, new Seen(record, changedAt, now, renewalSeen, duration));
    FormerEnd former = formerEnds.get(cluster);
    long left = former == null || former.epoch() != record.epoch() || record.formerReadOnly() ? 0
        : Math.max(0, former.endsAt() - now);
    long silence = now - changedAt;
    long bound = renewalSeen ? GrantTimes.fenceAfter(Duration.ofNanos(duration)).toNanos() : 2 * duration;
    // Two of the agent's renew periods without a renewal is no longer "renewing".
    long renewing = 2 * GrantTimes.renewPeriod(Duration.ofNanos(duration)).toNanos();
    return new Grant(silence >= bound, Duration.ofNanos(silence), Duration.ofNanos(Math.max(0, bound - silence)),
        Duration.ofNanos(left), renewalSeen && silence < renewing, now);
  }

  /**
   * A read of the Lease made only to see renewals sooner (GrantSweep): a renewal of the grant already
   * seen (same holder, same epoch) is recorded as of {@code readAt}; anything else waits for the
   * reconcile's and the poller's own reads, which also know whether the holder runs as a primary.
   */
  public synchronized void sawRenewal(String cluster, PrimaryRecord record, long readAt) {
    Seen previous = seen.get(cluster);
    if (previous == null || readAt <= previous.readAt() || !previous.holder().equals(record.holder())
        || previous.epoch() != record.epoch() || java.util.Objects.equals(previous.renewedAt(), record.renewedAt())) {
      return;
    }
    // Renewed: the agent counts with the duration it read to renew (see observe).
    seen.put(cluster, new Seen(record, readAt, readAt, true, record.leaseDuration().toNanos()));
  }

  public void forget(String cluster) {
    seen.remove(cluster);
    formerEnds.remove(cluster);
  }
}
