package dev.pgcluster.operator.ha;

import dev.pgcluster.operator.api.v1alpha1.InstanceRole;
import dev.pgcluster.operator.api.v1alpha1.PgClusterSpec;
import dev.pgcluster.operator.naming.PgClusterNames;
import dev.pgcluster.operator.postgres.SlotInfo;
import dev.pgcluster.operator.render.SyncStandbyNames;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/** Pure: from an observed cluster state and the spec to the list of actions. No I/O here. */
public final class Decider {

  private Decider() {}

  public static List<Action> decide(PgClusterSpec spec, PgClusterNames names, ClusterState state) {
    List<Action> actions = new ArrayList<>();
    actions.addAll(roleLabels(spec, names, state));
    Optional<InstanceState> primary = state.healthyPrimary();
    if (primary.isPresent()) {
      if (!state.primary().initialized()) {
        actions.add(new Action.MarkInitialized());
      }
      actions.add(new Action.RenewLease());
      actions.addAll(slots(spec, names, state));
      primarySettings(spec, names, state).ifPresent(actions::add);
    }
    return actions;
  }

  /** The role every pod should carry: a projection of the Lease holder and the delayed ordinals. */
  public static InstanceRole desiredRole(PgClusterSpec spec, String holder, InstanceState instance) {
    if (instance.name().equals(holder)) {
      return InstanceRole.PRIMARY;
    }
    return instance.ordinal() >= SyncStandbyNames.promotableInstances(spec)
        ? InstanceRole.DELAYED_REPLICA
        : InstanceRole.REPLICA;
  }

  static List<Action> roleLabels(PgClusterSpec spec, PgClusterNames names, ClusterState state) {
    List<Action> actions = new ArrayList<>();
    for (InstanceState instance : state.instances()) {
      InstanceRole role = desiredRole(spec, state.primary().holder(), instance);
      if (!role.label().equals(instance.roleLabel())) {
        actions.add(new Action.SetRoleLabel(instance.name(), role));
      }
    }
    return actions;
  }

  /** The synchronous replication settings, when the primary's live values differ from the plan. */
  static Optional<Action> primarySettings(PgClusterSpec spec, PgClusterNames names, ClusterState state) {
    if (state.primarySettings().isEmpty()) {
      return Optional.empty();  // not read from the primary this time: nothing to compare with
    }
    SyncReplication.Plan plan = SyncReplication.plan(spec, names, state);
    java.util.Map<String, String> changed = new java.util.LinkedHashMap<>();
    plan.settings().forEach((k, v) -> {
      if (!v.equals(state.primarySettings().get(k))) {
        changed.put(k, v);
      }
    });
    return changed.isEmpty() ? Optional.empty() : Optional.of(new Action.ApplyPrimarySettings(changed, plan.describe()));
  }

  /** One slot per standby ordinal in the spec; slots of removed standbys are dropped. */
  static List<Action> slots(PgClusterSpec spec, PgClusterNames names, ClusterState state) {
    Set<String> wanted = new LinkedHashSet<>();
    if (!Boolean.FALSE.equals(spec.replication.slots)) {
      for (int ordinal = 0; ordinal < spec.instances; ordinal++) {
        String pod = names.pod(ordinal);
        if (!pod.equals(state.primary().holder())) {
          wanted.add(PgClusterNames.slotName(pod));
        }
      }
    }
    Set<String> present = new LinkedHashSet<>();
    state.slots().stream().map(SlotInfo::name).forEach(present::add);
    List<Action> actions = new ArrayList<>();
    wanted.stream().filter(s -> !present.contains(s)).forEach(s -> actions.add(new Action.CreateSlot(s)));
    present.stream().filter(s -> !wanted.contains(s)).forEach(s -> actions.add(new Action.DropSlot(s)));
    return actions;
  }
}
