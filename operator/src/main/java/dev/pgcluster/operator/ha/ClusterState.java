package dev.pgcluster.operator.ha;

import dev.pgcluster.operator.lease.PrimaryRecord;
import dev.pgcluster.operator.postgres.SlotInfo;
import dev.pgcluster.operator.postgres.StandbyConnection;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * {@code primaryFailures}: consecutive probe periods in which the Lease holder was not a reachable
 * primary (counted by the reconciler across observations).
 *
 * Everything the decider may look at, captured at one moment. {@code slots}, {@code standbys} and
 * {@code primarySettings} (the live values of the settings the operator manages with ALTER SYSTEM)
 * are the primary's view and are empty when the primary could not be reached.
 */
public record ClusterState(
    PrimaryRecord primary, List<InstanceState> instances, List<SlotInfo> slots, List<StandbyConnection> standbys,
    Map<String, String> primarySettings, int primaryFailures) {

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
    return new ClusterState(primary, instances, slots, standbys, primarySettings, failures);
  }

  public Optional<InstanceState> instance(String name) {
    return instances.stream().filter(i -> i.name().equals(name)).findFirst();
  }

  /** The Lease holder, when it is up and running as a primary. */
  public Optional<InstanceState> healthyPrimary() {
    return instance(primary.holder()).filter(InstanceState::runningAsPrimary);
  }
}
