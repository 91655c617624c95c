package dev.pgcluster.operator.ha;

import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * Pure: the primary Lease is missing. For a new cluster that is expected (ordinal 0 becomes the first
 * primary); for a cluster whose instances hold data it means the record was deleted (by hand, or with
 * the PgCluster, whose volumes are kept), and it is rebuilt from what the instances themselves report,
 * never from defaults: the one running as a primary on the latest timeline, else the most advanced
 * standby. While data exists but no instance answers, nothing is decided.
 */
public final class LeaseRecovery {

  public sealed interface Choice {}

  /** Nothing exists yet: a new cluster. */
  public record NewCluster() implements Choice {}

  /** Instances hold data: {@code holder} at {@code epoch}, initialized. */
  public record Rebuild(String holder, int epoch, String why) implements Choice {}

  /** Data exists (volumes or pods) but no instance answers yet. */
  public record Wait(String why) implements Choice {}

  /** Latest timeline first, then the furthest WAL, then the lowest ordinal. */
  static final Comparator<InstanceState> LATEST_FIRST = Comparator
      .comparingLong((InstanceState i) -> i.facts().timeline()).reversed()
      .thenComparing(FailoverPolicy.MOST_ADVANCED_FIRST);

  private LeaseRecovery() {}

  /**
   * @param instances the pods of the cluster, as observed
   * @param volumesExist a data volume claim of the cluster exists
   * @param promotable ordinals below this may be promoted (delayed standbys are not)
   */
  public static Choice choose(List<InstanceState> instances, boolean volumesExist, int promotable) {
    Optional<InstanceState> primary = instances.stream().filter(InstanceState::runningAsPrimary)
        .sorted(LATEST_FIRST).findFirst();
    if (primary.isPresent()) {
      InstanceState p = primary.get();
      long others = instances.stream().filter(InstanceState::runningAsPrimary).count() - 1;
      return new Rebuild(p.name(), (int) Math.max(0, p.facts().timeline() - 1), p.name() + " runs as a primary on timeline "
          + p.facts().timeline() + (others > 0 ? " (the latest of " + (others + 1) + " running as primaries)" : ""));
    }
    Optional<InstanceState> standby = instances.stream()
        .filter(i -> i.reachable() && i.facts().inRecovery() && i.ordinal() < promotable)
        .sorted(LATEST_FIRST).findFirst();
    if (standby.isPresent()) {
      InstanceState s = standby.get();
      return new Rebuild(s.name(), (int) Math.max(0, s.facts().timeline() - 1), "no instance runs as a primary; " + s.name()
          + " is the most advanced standby (timeline " + s.facts().timeline() + ", WAL up to "
          + s.facts().receivedLsn() + ")");
    }
    if (volumesExist || !instances.isEmpty()) {
      return new Wait("the primary Lease is missing and the cluster's data exists (" + (volumesExist ? "volumes" : "pods")
          + "), but no instance answers yet: it is rebuilt from the first that does, never created anew");
    }
    return new NewCluster();
  }
}
