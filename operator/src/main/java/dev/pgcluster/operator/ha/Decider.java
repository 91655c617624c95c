package dev.pgcluster.operator.ha;

import dev.pgcluster.operator.api.v1alpha1.InstanceRole;
import dev.pgcluster.operator.api.v1alpha1.PgClusterSpec;
import dev.pgcluster.operator.naming.PgClusterNames;
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
    if (state.primary().editedHolder() != null) {
      // Not a change of primary: the record stays the operator's (a switchover is how to move it).
      actions.add(new Action.RestoreHolder(state.primary().holder(), state.primary().editedHolder()));
    }
    List<Action> fencing = fencing(state);
    actions.addAll(fencing);
    actions.addAll(roleLabels(spec, names, state));
    rewindToRecord(state).ifPresent(actions::add);
    Optional<InstanceState> primary = state.healthyPrimary();
    if (primary.isPresent()) {
      if (!state.primary().initialized()) {
        actions.add(new Action.MarkInitialized());
      }
      if (state.primary().epoch() > 0 && state.primary().promotedAt() == null) {
        actions.add(new Action.MarkPromoted());  // promoted, but the operator stopped before recording it
      }
      if (state.primary().leaseDurationSeconds() != spec.failover.leaseDurationSeconds) {
        actions.add(new Action.SetLeaseDuration(spec.failover.leaseDurationSeconds));
      }
      actions.addAll(slots(spec, names, state));
      primarySettings(spec, names, state).ifPresent(actions::add);
      switchover(spec, state).ifPresent(actions::add);
      for (InstanceState i : state.instances()) {
        if (i.reachable() && i.facts().inRecovery() && i.facts().detached()) {
          actions.add(new Action.ReattachStandby(i.name()));
        }
      }
      for (String stuck : state.stuckStandbys()) {
        state.instance(stuck).ifPresent(i -> actions.add(new Action.RestartStandby(stuck, i.podUid(), stuck
            + " has not streamed from " + state.primary().holder() + " (timeline " + primary.get().facts().timeline()
            + ") while on timeline " + i.facts().timeline() + ": restarting it so that it is rewound")));
      }
    } else if (state.primary().initialized()) {
      actions.addAll(takeOver(spec, state, fencing.isEmpty()));
    }
    return actions;
  }

  /**
   * The former primary of this epoch reported what its rejoin discarded, and the Lease does not say it
   * yet: record it (once per epoch).
   */
  static Optional<Action> rewindToRecord(ClusterState state) {
    PrimaryRecord record = state.primary();
    if (record.epoch() == 0 || record.fencePod() == null || record.rewindReport() != null) {
      return Optional.empty();
    }
    return state.instance(record.fencePod())
        .map(InstanceState::rewindReport)
        .filter(r -> r != null && r.startsWith("{\"epoch\":" + record.epoch() + ","))
        .map(r -> new Action.RecordRewind(record.fencePod(), r));
  }

  /** A requested switchover not done yet, to a reachable non-delayed standby. */
  static Optional<Action> switchover(PgClusterSpec spec, ClusterState state) {
    var request = spec.switchover;
    if (request == null || request.id == null || request.id.equals(state.primary().switchoverId())
        || request.target == null || request.target.equals(state.primary().holder())) {
      return Optional.empty();
    }
    int promotable = Math.min(SyncStandbyNames.promotableInstances(spec), spec.instances);
    InstanceState primary = state.healthyPrimary().orElseThrow();
    if (state.fencedByUser(primary.name())) {
      return Optional.empty();  // a fenced primary hands over nothing: unfenced first (the status says so)
    }
    Optional<InstanceState> target = state.instance(request.target)
        .filter(i -> i.ordinal() < promotable && i.reachable() && i.facts().inRecovery())
        .filter(i -> !state.fencedByUser(i.name()));
    return target.map(t -> new Action.Switchover(primary.name(), primary.podUid(), t.name(), request.id,
        "switchover " + request.id + " requested"));
  }

  /**
   * Never two writable primaries: an instance other than the Lease holder that runs as a primary is
   * fenced, and so is the former primary recorded in the Lease until its pod is gone.
   */
  static List<Action> fencing(ClusterState state) {
    String holder = state.primary().holder();
    List<Action> actions = new ArrayList<>();
    for (InstanceState i : state.instances()) {
      if (!i.name().equals(holder) && i.runningAsPrimary()) {
        actions.add(new Action.Fence(i.name(), i.podUid(), i.name() + " runs as a primary but " + holder
            + " holds the primary Lease (epoch " + state.primary().epoch() + ")"));
      }
    }
    String former = state.primary().fencePod();
    if (former != null && !former.equals(holder)) {
      state.instance(former)
          .filter(i -> i.podUid() != null && i.podUid().equals(state.primary().fenceUid()))
          .filter(i -> actions.stream().noneMatch(a -> a instanceof Action.Fence f && f.pod().equals(former)))
          .ifPresent(i -> actions.add(new Action.Fence(former, i.podUid(), "former primary " + former
              + " must be gone before " + holder + " is promoted")));
    }
    return actions;
  }

  /** No healthy primary: promote the holder if it is a reachable standby, else fail over when due. */
  static List<Action> takeOver(PgClusterSpec spec, ClusterState state, boolean fenced) {
    String holder = state.primary().holder();
    Optional<InstanceState> current = state.instance(holder);
    // A holder that runs as a primary but stopped renewing its grant has fenced itself: fail over.
    boolean fencedPrimary = current.isPresent() && current.get().runningAsPrimary() && state.grant().holderFenced();
    if (current.isPresent() && current.get().reachable() && !fencedPrimary) {
      if (current.get().facts().inRecovery() && fenced && state.fencedByUser(holder)) {
        // Fenced by the user after the Lease named it, before its promotion: never promoted; the best
        // unfenced successor takes the Lease instead (none: no primary until one is, the status says why).
        // Not when the operator may not choose on its own: failover disabled, or this holder was the
        // user's forced choice.
        List<InstanceState> next = FailoverPolicy.successors(spec, state, state.primary().fencePod());
        if (!Boolean.TRUE.equals(spec.failover.enabled) || state.primary().forced() || next.isEmpty()
            || FailoverPolicy.tooFewSeen(spec, next.size()).isPresent()) {
          return List.of();
        }
        return List.of(new Action.TransferPrimary(next.get(0).name(), state.primary().fencePod(),
            state.primary().fenceUid(), holder + " was fenced before its promotion: " + next.get(0).name()
                + " (received " + next.get(0).facts().receivedLsn() + ") is promoted instead",
            !FailoverPolicy.durabilityRequired(spec)));
      }
      if (current.get().facts().inRecovery() && fenced) {
        // The former primary's own grant must be over first: its old write window closes before ours opens.
        if (!state.grant().formerGrantLeft().isZero()) {
          return List.of();
        }
        // Checked again at promotion time: a standby may have received more since the Lease moved. Not
        // after a switchover: the holder replayed everything up to the moment the former primary stopped
        // taking writes; what it wrote after (autovacuum, checkpoints) holds no acknowledged commit.
        // Nor after a forced promotion: the user chose this standby, knowing it may be behind.
        boolean forced = state.primary().forced();
        Optional<InstanceState> ahead = state.primary().formerReadOnly() || forced ? Optional.empty()
            : FailoverPolicy.moreAdvancedThan(spec, state, current.get());
        if (ahead.isPresent()) {
          return List.of(new Action.TransferPrimary(ahead.get().name(), state.primary().fencePod(),
              state.primary().fenceUid(), ahead.get().name() + " (received " + ahead.get().facts().receivedLsn()
                  + ") is ahead of " + holder + " (received " + current.get().facts().receivedLsn()
                  + "): it is promoted instead", false));
        }
        if (!state.primary().formerReadOnly() && !forced
            && FailoverPolicy.tooFewSeen(spec,
                FailoverPolicy.successors(spec, state, state.primary().fencePod()).size()).isPresent()) {
          return List.of();  // wait until enough standbys answer again (the failover's own rule, checked again)
        }
        return List.of(new Action.Promote(holder, holder + " holds the primary Lease (epoch "
            + state.primary().epoch() + ") and runs as a standby"));
      }
      return List.of();
    }
    FailoverPolicy.Decision decision = FailoverPolicy.decide(spec, state, state.primaryFailures());
    if (decision instanceof FailoverPolicy.Promote promote) {
      return List.of(new Action.TransferPrimary(promote.candidate().name(), holder,
          current.map(InstanceState::podUid).orElse(null), promote.reason(), promote.mayLoseCommits(),
          promote.switchoverId()));
    }
    return List.of();
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

  /**
   * The role label a pod should carry: its role, but {@code fenced} for a standby the user fenced (out of
   * -ro). A fenced primary keeps its label: its standbys stream from it through -rw.
   */
  public static InstanceRole labelledRole(PgClusterSpec spec, ClusterState state, InstanceState instance) {
    InstanceRole role = desiredRole(spec, state.primary().holder(), instance);
    return role != InstanceRole.PRIMARY && state.fencedByUser(instance.name()) ? InstanceRole.FENCED : role;
  }

  static List<Action> roleLabels(PgClusterSpec spec, PgClusterNames names, ClusterState state) {
    List<Action> actions = new ArrayList<>();
    for (InstanceState instance : state.instances()) {
      InstanceRole role = labelledRole(spec, state, instance);
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
    boolean agentFenced = !state.primarySettings().getOrDefault(SyncReplication.AGENT_FENCE_MARKER, "").isEmpty();
    java.util.Map<String, String> wanted = plan.settings(agentFenced);
    if (state.fencedByUser(state.primary().holder()) && !agentFenced) {
      wanted.put("default_transaction_read_only", "on");  // fenced by the user: no new write transaction
    }
    wanted.forEach((k, v) -> {
      if (!v.equals(state.primarySettings().get(k))) {
        changed.put(k, v);
      }
    });
    if (changed.isEmpty()) {
      return Optional.empty();
    }
    String readOnly = changed.get("default_transaction_read_only");
    String why = "on".equals(readOnly) ? "fenced (" + FailoverPolicy.FENCE_ANNOTATION + "): new transactions are"
        + " read-only and client sessions are ended; " + plan.describe()
        : "off".equals(readOnly) ? "takes writes; " + plan.describe() : plan.describe();
    return Optional.of(new Action.ApplyPrimarySettings(changed, why));
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
