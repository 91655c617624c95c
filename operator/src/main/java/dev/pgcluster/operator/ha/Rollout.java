package dev.pgcluster.operator.ha;

import dev.pgcluster.operator.api.v1alpha1.PgClusterSpec;
import dev.pgcluster.operator.render.SyncStandbyNames;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Pure: brings changed configuration and pod templates to the running instances. Each instance
 * includes the ConfigMap's file directly, so once the kubelet has refreshed it a reload applies what
 * can change at run time. What needs a restart (settings PostgreSQL marks pending_restart, a pod
 * created from an older template: image, resources) is rolled out one instance at a time, standbys
 * first, then the primary by a switchover to a caught-up standby (in place only when no standby can
 * take over). Nothing is restarted while any instance's file holds an error: it would not start again.
 */
public final class Rollout {

  /**
   * Restart-only settings whose value on a standby may not be lower than on its primary: PostgreSQL
   * refuses to start such a standby. Lowering one would have to restart the primary first.
   */
  static final Set<String> STANDBY_AT_LEAST_PRIMARY = Set.of("max_connections", "max_worker_processes",
      "max_wal_senders", "max_prepared_transactions", "max_locks_per_transaction");

  static final double MAX_TARGET_LAG_SECONDS = 5;

  private Rollout() {}

  /** Where the rollout stands, for the status and the decision. */
  public record Progress(List<String> reloading, List<String> waitingForFile, List<String> pendingRestart,
      List<String> errors, String blockedBy) {

    public boolean converged() {
      return reloading.isEmpty() && waitingForFile.isEmpty() && pendingRestart.isEmpty() && errors.isEmpty();
    }

    /** One line for a condition or an event. */
    public String describe() {
      List<String> parts = new ArrayList<>();
      if (!errors.isEmpty()) {
        parts.add("configuration rejected by PostgreSQL: " + String.join("; ", errors));
      }
      if (!waitingForFile.isEmpty()) {
        parts.add("waiting for the new configuration file on " + String.join(", ", waitingForFile));
      }
      if (!reloading.isEmpty()) {
        parts.add("reloading " + String.join(", ", reloading));
      }
      if (!pendingRestart.isEmpty()) {
        parts.add("restart needed on " + String.join("; ", pendingRestart));
      }
      if (blockedBy != null) {
        parts.add("restarts wait: " + blockedBy);
      }
      return String.join("; ", parts);
    }
  }

  public static Progress progress(PgClusterSpec spec, String renderedHash, ClusterState state) {
    List<String> reloading = new ArrayList<>();
    List<String> waiting = new ArrayList<>();
    List<String> pending = new ArrayList<>();
    List<String> errors = new ArrayList<>();
    for (InstanceState i : instances(spec, state)) {
      ConfigFacts c = i.config();
      if (c == null) {
        if (i.podOutdated()) {
          pending.add(i.name() + " (" + what(i) + ")");
        }
        continue;
      }
      c.fileErrors().forEach(e -> errors.add(i.name() + ": " + e));
      if (!renderedHash.equals(c.fileHash())) {
        waiting.add(i.name());
      } else if (!renderedHash.equals(c.loadedHash())) {
        reloading.add(i.name());
      } else if (needsRestart(i)) {
        pending.add(i.name() + " (" + what(i) + ")");
      }
    }
    return new Progress(reloading, waiting, pending, errors, pending.isEmpty() ? null : restartBlocker(spec, state));
  }

  /**
   * The next step: reloads wherever the new file is in place; else one restart, only when the HA
   * decider has nothing to do ({@code haActions} holds at most a Lease renewal) and every instance is
   * ready, reachable and runs the rendered configuration without errors.
   */
  public static List<Action> decide(PgClusterSpec spec, String renderedHash, ClusterState state,
      List<Action> haActions, boolean mayPlanSwitchover) {
    List<Action> reloads = new ArrayList<>();
    for (InstanceState i : instances(spec, state)) {
      ConfigFacts c = i.config();
      if (c != null && renderedHash.equals(c.fileHash()) && !renderedHash.equals(c.loadedHash())) {
        reloads.add(new Action.ReloadConfiguration(i.name(), "its configuration file holds configuration "
            + renderedHash + ", it runs " + (c.loadedHash() == null ? "an older one" : c.loadedHash())));
      }
    }
    if (!reloads.isEmpty()) {
      return reloads;
    }
    Progress progress = progress(spec, renderedHash, state);
    if (progress.pendingRestart().isEmpty() || progress.blockedBy() != null
        || haActions.stream().anyMatch(a -> !(a instanceof Action.SetLeaseDuration || a instanceof Action.MarkPromoted
            || a instanceof Action.RecordRewind || a instanceof Action.RestoreHolder))) {
      return List.of();
    }
    InstanceState primary = state.healthyPrimary().orElseThrow();
    Optional<InstanceState> standby = instances(spec, state).stream()
        .filter(i -> !i.name().equals(primary.name()) && needsRestart(i))
        .max(Comparator.comparingInt(InstanceState::ordinal));
    if (standby.isPresent()) {
      return List.of(new Action.RestartForUpdate(standby.get().name(), standby.get().podUid(),
          restartReason(standby.get())));
    }
    Optional<InstanceState> target = switchoverTarget(spec, state);
    if (target.isPresent()) {
      return mayPlanSwitchover ? List.of(new Action.Switchover(primary.name(), primary.podUid(), target.get().name(),
          null, "restart of primary " + primary.name() + " for " + what(primary))) : List.of();
    }
    if (promotableStandbys(spec, state).isEmpty()) {
      return List.of(new Action.RestartForUpdate(primary.name(), primary.podUid(), restartReason(primary)
          + "; no standby can take over, so the primary restarts in place (writes pause meanwhile)"));
    }
    return List.of();
  }

  /** Why no instance may be restarted now, or null when one may. */
  static String restartBlocker(PgClusterSpec spec, ClusterState state) {
    if (state.healthyPrimary().isEmpty()) {
      return "no healthy primary";
    }
    if (state.fencedByUser(state.primary().holder())) {
      return "primary " + state.primary().holder() + " is fenced; unfence it first";
    }
    List<InstanceState> instances = instances(spec, state);
    if (instances.size() != spec.instances) {
      return instances.size() + " of " + spec.instances + " instances exist";
    }
    List<String> notReady = instances.stream().filter(i -> !i.podReady() || !i.reachable() || i.config() == null)
        .map(InstanceState::name).toList();
    if (!notReady.isEmpty()) {
      return "not ready: " + String.join(", ", notReady);
    }
    if (instances.stream().anyMatch(i -> !i.config().fileErrors().isEmpty())) {
      return "the configuration has errors; a restarted instance would not start";
    }
    InstanceState primary = state.healthyPrimary().get();
    for (var p : primary.config().pendingRestart()) {
      if (STANDBY_AT_LEAST_PRIMARY.contains(p.name()) && lower(p.pending(), p.current())) {
        return p.name() + " decreases on primary " + primary.name() + " (" + p + "): standbys refuse to start with"
            + " a lower value than their primary, so this is not rolled out automatically; restart the primary"
            + " pod, then the standbys";
      }
    }
    return null;
  }

  /**
   * The most advanced promotable standby that streams and replays (a few seconds behind at most): the
   * switchover waits for the target to replay everything, and gives up after 30 s of paused writes.
   */
  static Optional<InstanceState> switchoverTarget(PgClusterSpec spec, ClusterState state) {
    return promotableStandbys(spec, state).stream()
        .filter(i -> state.standbys().stream().anyMatch(c -> c.applicationName().equals(i.name())
            && "streaming".equals(c.state())))
        .filter(i -> i.facts().replayLagSeconds() != null && i.facts().replayLagSeconds() < MAX_TARGET_LAG_SECONDS)
        .max(Comparator.comparing((InstanceState i) -> Lsn.parse(i.facts().receivedLsn()))
            .thenComparing(InstanceState::ordinal, Comparator.reverseOrder()));
  }

  private static List<InstanceState> promotableStandbys(PgClusterSpec spec, ClusterState state) {
    int promotable = Math.min(SyncStandbyNames.promotableInstances(spec), spec.instances);
    return instances(spec, state).stream()
        .filter(i -> i.ordinal() < promotable && !i.name().equals(state.primary().holder()) && i.reachable()
            && i.facts().inRecovery() && !state.fencedByUser(i.name()))
        .toList();
  }

  private static List<InstanceState> instances(PgClusterSpec spec, ClusterState state) {
    return state.instances().stream().filter(i -> i.ordinal() < spec.instances).toList();
  }

  private static boolean needsRestart(InstanceState i) {
    return i.podOutdated() || (i.config() != null && !i.config().pendingRestart().isEmpty());
  }

  private static String restartReason(InstanceState i) {
    return "restarting " + i.name() + " for " + what(i);
  }

  /** What a restart of {@code i} would bring: its settings pending a restart, a newer pod template. */
  private static String what(InstanceState i) {
    List<String> parts = new ArrayList<>();
    if (i.config() != null) {
      i.config().pendingRestart().forEach(p -> parts.add(p.toString()));
    }
    if (i.podOutdated()) {
      parts.add("the StatefulSet's new pod template");
    }
    return String.join(", ", parts);
  }

  private static boolean lower(String pending, String current) {
    try {
      return pending != null && Long.parseLong(pending.trim()) < Long.parseLong(current.trim());
    } catch (NumberFormatException e) {
      return false;
    }
  }
}
