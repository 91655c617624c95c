package dev.pgcluster.operator.ha;

import dev.pgcluster.operator.api.v1alpha1.Durability;
import dev.pgcluster.operator.api.v1alpha1.PgClusterSpec;
import dev.pgcluster.operator.api.v1alpha1.ReplicationMode;
import dev.pgcluster.operator.render.SyncStandbyNames;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * Pure: whether the primary has failed, and which standby takes over. Candidates are the reachable,
 * non-delayed standbys, ranked by how much WAL they received (then replayed, then ordinal): the first
 * is never behind another reachable one. Under synchronous replication with durability required, an
 * acknowledged commit is on at least n of the m synchronous standbys; any m - n + 1 of them include one
 * that has it, so the most advanced of at least that many is safe. With fewer reachable, no failover:
 * promoting could lose acknowledged commits.
 */
public final class FailoverPolicy {

  /** The outcome while the primary is not healthy. */
  public sealed interface Decision {}

  /** Not failed yet (a busy primary may miss a probe or two). */
  public record Waiting(int failures, int threshold) implements Decision {}

  /** Failed, but no standby may be promoted; the status says why. */
  public record Blocked(String reason) implements Decision {}

  /**
   * Promote {@code candidate}. {@code mayLoseCommits}: asynchronous or degraded durability, or forced.
   * {@code switchoverId}: the forced promotion's request (spec.switchover.id), null for a failover.
   */
  public record Promote(InstanceState candidate, String reason, boolean mayLoseCommits, String switchoverId)
      implements Decision {
    public Promote(InstanceState candidate, String reason, boolean mayLoseCommits) {
      this(candidate, reason, mayLoseCommits, null);
    }
  }

  /**
   * How far a standby's WAL goes: the furthest of received and replayed. Replayed can be ahead: after a
   * pg_rewind or a restart, a standby replays WAL from its own pg_wal that it never streamed.
   */
  public static long position(InstanceState standby) {
    return Math.max(Lsn.parse(standby.facts().receivedLsn()), Lsn.parse(standby.facts().replayedLsn()));
  }

  /** The ranking: the furthest WAL position first, then most replayed, then the lowest ordinal. */
  public static final Comparator<InstanceState> MOST_ADVANCED_FIRST = Comparator
      .comparingLong(FailoverPolicy::position).reversed()
      .thenComparing(Comparator.comparingLong((InstanceState i) -> Lsn.parse(i.facts().replayedLsn())).reversed())
      .thenComparingInt(InstanceState::ordinal);

  private FailoverPolicy() {}

  /**
   * The standbys that may succeed {@code excluded} (the failing primary, or the former one the Lease
   * moved away from), most advanced first: reachable, in recovery, and of a promotable ordinal.
   */
  public static List<InstanceState> successors(PgClusterSpec spec, ClusterState state, String excluded) {
    int promotable = Math.min(SyncStandbyNames.promotableInstances(spec), spec.instances);
    return state.instances().stream()
        .filter(i -> !i.name().equals(excluded))
        .filter(i -> i.ordinal() < promotable)
        .filter(i -> i.reachable() && i.facts().inRecovery())
        .filter(i -> !state.fencedByUser(i.name()))
        .sorted(MOST_ADVANCED_FIRST)
        .toList();
  }

  /** A reachable eligible standby that received more WAL than {@code holder}, the most advanced one. */
  public static Optional<InstanceState> moreAdvancedThan(PgClusterSpec spec, ClusterState state, InstanceState holder) {
    long mine = position(holder);
    // The primary the Lease just moved away from is never its own successor: its WAL past the move is
    // what the move is about (the fencing and the ranking agree on who is eligible).
    return successors(spec, state, state.primary().fencePod()).stream()
        .filter(i -> !i.name().equals(holder.name()))
        .filter(i -> position(i) > mine)
        .findFirst();
  }

  /**
   * Under durability required, why {@code reachable} standbys are too few to be sure the most advanced
   * of them holds every acknowledged commit (at least one of any {@code number} synchronous standbys
   * must be among them); empty when they are enough, or durability is not required. Asked again when
   * the promotion comes, a grant later: a standby that stopped answering since may hold what the others
   * lack.
   */
  public static Optional<String> tooFewSeen(PgClusterSpec spec, int reachable) {
    if (spec.replication.mode != ReplicationMode.SYNC || spec.replication.durability != Durability.REQUIRED) {
      return Optional.empty();
    }
    int syncStandbys = Math.min(SyncStandbyNames.promotableInstances(spec), spec.instances) - 1;
    int mustSee = syncStandbys - spec.replication.number + 1;
    return reachable >= mustSee ? Optional.empty() : Optional.of("durability is required and only " + reachable
        + " of the " + syncStandbys + " synchronous standbys are reachable: at least " + mustSee + " are needed to"
        + " be sure the promoted one holds every acknowledged commit");
  }

  /** Synchronous replication with durability required: a promotion must never lose an acknowledged commit. */
  public static boolean durabilityRequired(PgClusterSpec spec) {
    return spec.replication.mode == ReplicationMode.SYNC && spec.replication.durability == Durability.REQUIRED;
  }

  /** Where users fence instances: a JSON list of pod names, or ["*"]. */
  public static final String FENCE_ANNOTATION = "pgcluster.dev/fenced-instances";

  /**
   * A forced promotion requested and not done yet (spec.switchover with force, an id the Lease does not
   * record), to a reachable, unfenced standby of a promotable ordinal. Taken only once the primary has
   * failed: while it is healthy, the request is an ordinary switchover.
   */
  public static Optional<InstanceState> forcedTarget(PgClusterSpec spec, ClusterState state) {
    var request = spec.switchover;
    if (request == null || !Boolean.TRUE.equals(request.force) || request.id == null || request.target == null
        || request.id.equals(state.primary().switchoverId()) || request.target.equals(state.primary().holder())) {
      return Optional.empty();
    }
    int promotable = Math.min(SyncStandbyNames.promotableInstances(spec), spec.instances);
    return state.instance(request.target)
        .filter(i -> i.ordinal() < promotable && i.reachable() && i.facts().inRecovery())
        .filter(i -> !state.fencedByUser(i.name()));
  }

  public static Decision decide(PgClusterSpec spec, ClusterState state, int primaryFailures) {
    int threshold = spec.failover.failureThreshold;
    boolean fenced = state.grant().holderFenced();
    if (primaryFailures < threshold && !fenced) {
      return new Waiting(primaryFailures, threshold);
    }
    String holder = state.primary().holder();
    String failure = fenced
        ? "primary " + holder + " has not renewed its grant (the primary Lease) for "
            + String.format("%.1f", state.grant().silence().toMillis() / 1000.0) + " s (its agent fences at "
            + String.format("%.2f", GrantTimes.fenceAfter(state.primary().leaseDuration()).toMillis() / 1000.0)
            + " s of a " + state.primary().leaseDurationSeconds() + " s lease): it has fenced itself, or is doing so"
        : "primary " + holder + " failed " + primaryFailures + " consecutive probes";
    if (!fenced && state.grant().holderRenewing()) {
      // Its agent renewed a moment ago, which it does only while its PostgreSQL answers it as a primary:
      // the primary runs, and only this operator cannot reach it (a partition on the operator's side).
      // A failover would fence a working primary; a crashed one stops renewing within two seconds.
      return new Blocked(failure + ", but its agent renewed its grant "
          + String.format("%.1f", state.grant().silence().toMillis() / 1000.0) + " s ago: it runs as the primary"
          + " and only the operator cannot reach it");
    }
    if (state.fencedByUser(holder)) {
      return new Blocked(failure + "; " + holder + " is fenced (" + FENCE_ANNOTATION + "): no failover while it is;"
          + " unfence it to let one happen");
    }
    Optional<InstanceState> forced = forcedTarget(spec, state);
    if (forced.isPresent()) {
      InstanceState target = forced.get();
      return new Promote(target, failure + "; promoting " + target.name() + " as forced by spec.switchover (id "
          + spec.switchover.id + ", force: true), received " + target.facts().receivedLsn()
          + ", whether or not another standby received more", true, spec.switchover.id);
    }
    if (!Boolean.TRUE.equals(spec.failover.enabled)) {
      return new Blocked(failure + "; automated failover is disabled (spec.failover.enabled: false)");
    }
    List<InstanceState> candidates = successors(spec, state, holder);
    boolean required = spec.replication.mode == ReplicationMode.SYNC
        && spec.replication.durability == Durability.REQUIRED;
    Optional<String> unsure = tooFewSeen(spec, candidates.size());
    if (unsure.isPresent()) {
      return new Blocked(failure + "; " + unsure.get());
    }
    if (candidates.isEmpty()) {
      return new Blocked(failure + "; no reachable standby that may be promoted");
    }
    InstanceState chosen = candidates.get(0);
    return new Promote(chosen, failure + "; promoting " + chosen.name() + ", the most advanced of "
        + candidates.size() + " reachable standbys (received " + chosen.facts().receivedLsn() + ")", !required);
  }
}
