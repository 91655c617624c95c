package dev.pgcluster.operator.ha;

import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * {@code primaryFailures}: consecutive probe periods in which the Lease holder was not a reachable
 * primary (counted by the reconciler across observations). {@code fencedByUser}: the instances the
 * user fenced (annotation {@code pgcluster.dev/fenced-instances}): never promoted, a fenced standby
 * out of -ro, a fenced primary read-only and never failed over.
 *
 * Everything the decider may look at, captured at one moment. {@code slots}, {@code standbys} and
 * {@code primarySettings} (the live values of the settings the operator manages with ALTER SYSTEM)
 * are the primary's view and are empty when the primary could not be reached; so is {@code archive}.
 */
public record ClusterState(
    PrimaryRecord primary, List<InstanceState> instances, List<SlotInfo> slots, List<StandbyConnection> standbys,
    Map<String, String> primarySettings, int primaryFailures, java.util.Set<String> stuckStandbys,
    GrantWatch.Grant grant, ArchiveFacts archive, java.util.Set<String> fencedByUser) {

  public ClusterState(
      PrimaryRecord primary, List<InstanceState> instances, List<SlotInfo> slots, List<StandbyConnection> standbys,
      Map<String, String> primarySettings, int primaryFailures, java.util.Set<String> stuckStandbys,
      GrantWatch.Grant grant, ArchiveFacts archive) {
    this(primary, instances, slots, standbys, primarySettings, primaryFailures, stuckStandbys, grant, archive,
        java.util.Set.of());
  }

  public ClusterState(PrimaryRecord primary, List<InstanceState> instances, List<SlotInfo> slots,
      List<StandbyConnection> standbys, Map<String, String> primarySettings, int primaryFailures) {
    this(primary, instances, slots, standbys, primarySettings, primaryFailures, java.util.Set.of(),
        GrantWatch.Grant.NONE, ArchiveFacts.NONE);
  }

  public ClusterState(
      PrimaryRecord primary, List<InstanceState> instances, List<SlotInfo> slots, List<StandbyConnection> standbys) {
    this(primary, instances, slots, standbys, Map.of(), 0);
  }

  public ClusterState(PrimaryRecord primary, List<InstanceState> instances, List<SlotInfo> slots,
      List<StandbyConnection> standbys, Map<String, String> primarySettings) {
    this(primary, instances, slots, standbys, primarySettings, 0);
  }

  /** The same observation, with the number of consecutive failed probes of the Lease holder. */
  public ClusterState withPrimaryFailures(int failures) {
    return new ClusterState(primary, instances, slots, standbys, primarySettings, failures, stuckStandbys, grant, archive,
        fencedByUser);
  }

  /** The same observation, with what the operator has seen of the primary's grant. */
  public ClusterState withGrant(GrantWatch.Grant seen) {
    return new ClusterState(primary, instances, slots, standbys, primarySettings, primaryFailures, stuckStandbys, seen,
        archive, fencedByUser);
  }

  /** The same observation, with the primary's archiving. */
  public ClusterState withArchive(ArchiveFacts facts) {
    return new ClusterState(primary, instances, slots, standbys, primarySettings, primaryFailures, stuckStandbys, grant,
        facts, fencedByUser);
  }

  /** Standbys that have not streamed from the primary's timeline for a while (see the reconciler). */
  public ClusterState withStuckStandbys(java.util.Set<String> stuck) {
    return new ClusterState(primary, instances, slots, standbys, primarySettings, primaryFailures, stuck, grant, archive,
        fencedByUser);
  }

  /** The same observation, with the instances the user fenced. */
  public ClusterState withFencedByUser(java.util.Set<String> fenced) {
    return new ClusterState(primary, instances, slots, standbys, primarySettings, primaryFailures, stuckStandbys, grant,
        archive, java.util.Set.copyOf(fenced));
  }

  public boolean fencedByUser(String instance) {
    return fencedByUser.contains(instance);
  }

  /**
   * Standbys that cannot follow the healthy primary now: reachable, in recovery, not streaming, on an
   * older timeline. Right after a failover that is normal for a second; for long, they diverged.
   */
  public java.util.Set<String> standbysOffTheTimeline() {
    java.util.Set<String> out = new java.util.TreeSet<>();
    healthyPrimary().ifPresent(p -> {
      for (InstanceState i : instances) {
        boolean streaming = standbys.stream().anyMatch(c -> c.applicationName().equals(i.name())
            && "streaming".equals(c.state()));
        if (!i.name().equals(p.name()) && i.reachable() && i.facts().inRecovery() && !streaming
            && i.facts().timeline() < p.facts().timeline()) {
          out.add(i.name());
        }
      }
    });
    return out;
  }

  public Optional<InstanceState> instance(String name) {
    return instances.stream().filter(i -> i.name().equals(name)).findFirst();
  }

  /**
   * The Lease holder, when it is up and running as a primary and its agent keeps renewing its grant
   * (a primary that stopped renewing has fenced itself, or is about to).
   */
  public Optional<InstanceState> healthyPrimary() {
    return instance(primary.holder()).filter(InstanceState::runningAsPrimary).filter(i -> !grant.holderFenced());
  }
}
