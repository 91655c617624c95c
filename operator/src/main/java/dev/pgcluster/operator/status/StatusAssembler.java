package dev.pgcluster.operator.status;

import dev.pgcluster.operator.api.v1alpha1.BackupStatus;
import dev.pgcluster.operator.api.v1alpha1.ClusterPhase;
import dev.pgcluster.operator.api.v1alpha1.InstanceRole;
import dev.pgcluster.operator.api.v1alpha1.InstanceStatus;
import dev.pgcluster.operator.api.v1alpha1.PgBackup;
import dev.pgcluster.operator.api.v1alpha1.PgBackupStatus;
import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.operator.api.v1alpha1.PgClusterStatus;
import dev.pgcluster.operator.api.v1alpha1.PrimaryChangeStatus;
import dev.pgcluster.operator.ha.ArchiveFacts;
import dev.pgcluster.operator.ha.ClusterState;
import dev.pgcluster.operator.ha.Decider;
import dev.pgcluster.operator.ha.FailoverPolicy;
import dev.pgcluster.operator.ha.InstanceState;
import dev.pgcluster.operator.ha.PrimaryRecord;
import dev.pgcluster.operator.ha.Rollout;
import dev.pgcluster.operator.ha.SlotInfo;
import dev.pgcluster.operator.ha.StandbyConnection;
import dev.pgcluster.operator.ha.SyncReplication;
import dev.pgcluster.operator.naming.PgClusterNames;
import dev.pgcluster.operator.render.BackupRenderer;
import dev.pgcluster.operator.render.PostgresConfig;
import dev.pgcluster.operator.status.ConditionTypes.Reasons;
import dev.pgcluster.operator.storage.VolumeGrowth;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Builds the status from an observation. The one place conditions are made: fixed types, stable
 * reasons, observedGeneration, and lastTransitionTime kept unless the condition's status changed.
 */
public final class StatusAssembler {

  private StatusAssembler() {}

  public static PgClusterStatus invalid(PgCluster cluster, List<String> problems, Instant now) {
    PgClusterStatus status = copyOrNew(cluster);
    String message = String.join("; ", problems);
    status.phase = ClusterPhase.Invalid;
    status.observedGeneration = cluster.getMetadata().getGeneration();
    status.conditions = merge(cluster, List.of(
        condition(cluster, ConditionTypes.READY, false, Reasons.INVALID_SPEC, message),
        condition(cluster, ConditionTypes.PROGRESSING, false, Reasons.INVALID_SPEC, "waiting for a valid spec"),
        condition(cluster, ConditionTypes.DEGRADED, false, Reasons.INVALID_SPEC, message)), now);
    return status;
  }

  /** The primary record is missing and being rebuilt from the instances, which do not answer yet. */
  public static PgClusterStatus recordMissing(PgCluster cluster, String why, Instant now) {
    PgClusterStatus status = copyOrNew(cluster);
    status.phase = ClusterPhase.Unavailable;
    status.observedGeneration = cluster.getMetadata().getGeneration();
    status.conditions = merge(cluster, List.of(
        condition(cluster, ConditionTypes.READY, false, Reasons.PRIMARY_RECORD_MISSING, why),
        condition(cluster, ConditionTypes.PROGRESSING, true, Reasons.PRIMARY_RECORD_MISSING,
            "starting the instances read-only to rebuild the primary record from their data"),
        condition(cluster, ConditionTypes.DEGRADED, true, Reasons.PRIMARY_RECORD_MISSING, why)), now);
    return status;
  }

  /**
   * The spec is invalid, but the cluster runs on, kept alive with its last valid spec ({@code effective}):
   * the status is the observed one, the phase says Invalid, and Progressing says the change waits.
   */
  public static PgClusterStatus invalidButRunning(PgCluster effective, ClusterState state, List<String> problems,
      long generation, Instant now) {
    PgClusterStatus status = observed(effective, state, now);
    status.phase = ClusterPhase.Invalid;
    status.observedGeneration = generation;
    List<io.fabric8.kubernetes.api.model.Condition> conditions = new java.util.ArrayList<>(status.conditions);
    conditions.removeIf(c -> c.getType().equals(ConditionTypes.PROGRESSING));
    conditions.add(condition(effective, ConditionTypes.PROGRESSING, false, Reasons.INVALID_SPEC,
        "the change waits for a valid spec (" + String.join("; ", problems) + "); meanwhile the cluster runs, and"
            + " fails over, with its last valid spec"));
    status.conditions = merge(effective, conditions, now);
    return status;
  }

  /**
   * A failed push is retried; the status says Degraded only once no WAL has reached the store for
   * this long (a new cluster's first pushes can race the stanza's creation, a store can hiccup).
   */
  public static final java.time.Duration ARCHIVE_FAILING_AFTER = java.time.Duration.ofSeconds(30);

  static boolean archiveFailing(PgCluster cluster, ArchiveFacts archive) {
    return BackupRenderer.enabled(cluster) && archive.failing()
        && archive.failingFor().compareTo(ARCHIVE_FAILING_AFTER) >= 0;
  }

  static String archiveFailure(PgCluster cluster, ArchiveFacts archive) {
    String error = archive.lastError() == null ? "no message from the archive command"
        : archive.lastError().strip().replaceAll("\\s+", " ");
    if (error.length() > 600) {
      error = error.substring(0, 600) + "...";
    }
    var s3 = cluster.getSpec().backup.repository.s3;
    return "WAL archiving to spec.backup.repository (s3://" + s3.bucket + BackupRenderer.repositoryPath(cluster) + " at "
        + s3.endpoint + ") has failed for " + archive.failingFor().toSeconds() + " s (last archived: "
        + (archive.lastArchivedWal() == null ? "none" : archive.lastArchivedWal() + " at " + archive.lastArchivedAt())
        + "; " + archive.waitingSegments() + " WAL segments waiting): " + error;
  }

  /**
   * status.backup: archiving as observed on the primary, the newest completed backup and the store's
   * recoverability window as that backup's agent saw it. Null without spec.backup.
   */
  public static BackupStatus backup(PgCluster cluster, ArchiveFacts archive, List<PgBackup> backups,
      BackupStatus previous) {
    if (!BackupRenderer.enabled(cluster)) {
      return null;
    }
    BackupStatus status = new BackupStatus();
    if (archive.enabled()) {
      status.lastArchivedWal = archive.lastArchivedWal();
      status.lastArchivedAt = archive.lastArchivedAt() == null ? null : archive.lastArchivedAt().toString();
      status.lastFailedWal = archive.lastFailedWal();
      status.lastFailedAt = archive.lastFailedAt() == null ? null : archive.lastFailedAt().toString();
      status.walSegmentsWaiting = archive.waitingSegments();
      status.archiveFailures = archive.failedCount();
      status.archiveError = archive.failing() && archive.lastError() != null ? archive.lastError().strip() : null;
    } else if (previous != null) {
      // The primary could not be read this time: keep what was last seen rather than blank it.
      status.lastArchivedWal = previous.lastArchivedWal;
      status.lastArchivedAt = previous.lastArchivedAt;
      status.lastFailedWal = previous.lastFailedWal;
      status.lastFailedAt = previous.lastFailedAt;
      status.walSegmentsWaiting = previous.walSegmentsWaiting;
      status.archiveFailures = previous.archiveFailures;
      status.archiveError = previous.archiveError;
    }
    backups.stream()
        .filter(b -> b.getStatus() != null && PgBackupStatus.COMPLETED.equals(b.getStatus().phase)
            && b.getStatus().stoppedAt != null)
        .max(java.util.Comparator.comparing(b -> b.getStatus().stoppedAt))
        .ifPresent(b -> {
          status.lastBackup = b.getMetadata().getName();
          status.lastBackupAt = b.getStatus().stoppedAt;
          status.firstRecoverabilityPoint = b.getStatus().firstRecoverabilityPoint;
        });
    status.lastScheduledAt = previous == null ? null : previous.lastScheduledAt;
    return status;
  }

  public static PgClusterStatus observed(PgCluster cluster, ClusterState state, Instant now) {
    return observed(cluster, state, VolumeGrowth.Status.NONE, now);
  }

  /** As above, with where growing the data volumes to spec.storage.size stands. */
  public static PgClusterStatus observed(PgCluster cluster, ClusterState state, VolumeGrowth.Status volumes,
      Instant now) {
    PgClusterStatus status = new PgClusterStatus();
    PgClusterNames names = PgClusterNames.of(cluster);
    int wanted = cluster.getSpec().instances;
    status.observedGeneration = cluster.getMetadata().getGeneration();
    status.currentPrimary = state.primary().holder();
    status.primaryEpoch = state.primary().epoch();
    status.initialized = state.primary().initialized() || state.healthyPrimary().isPresent();
    status.instances = state.instances().stream()
        .filter(i -> i.ordinal() < wanted)
        .map(i -> instance(cluster, state, i))
        .collect(Collectors.toList());
    status.instances.forEach(i -> i.volumeSize = volumes.capacity(i.name).orElse(null));
    status.readyInstances = (int) status.instances.stream().filter(i -> Boolean.TRUE.equals(i.ready)).count();

    boolean primaryUp = state.healthyPrimary().isPresent();
    // Pods past the wanted count (a scale-down under way) are leaving, not missing.
    boolean allReady = status.readyInstances == wanted
        && state.instances().stream().filter(i -> i.ordinal() < wanted).count() == wanted;
    List<String> lostSlots = state.slots().stream().filter(SlotInfo::lost).map(SlotInfo::name).toList();
    // A pod the scheduler cannot place says why (required anti-affinity, a node selector no node matches).
    Map<String, String> unschedulable = state.instances().stream()
        .filter(i -> i.probeError() != null && i.probeError().startsWith(InstanceState.UNSCHEDULABLE))
        .collect(Collectors.toMap(InstanceState::name, InstanceState::probeError, (a, b) -> a));
    java.util.function.Function<String, String> named =
        n -> unschedulable.containsKey(n) ? n + " (" + unschedulable.get(n) + ")" : n;
    String notReady = status.instances.stream().filter(i -> !Boolean.TRUE.equals(i.ready))
        .map(i -> named.apply(i.name)).collect(Collectors.joining(", "));

    SyncReplication.Plan sync = SyncReplication.plan(cluster.getSpec(), names, state);
    boolean syncDegraded = primaryUp && (sync.health() == SyncReplication.Health.WAITING_FOR_STANDBYS
        || sync.health() == SyncReplication.Health.REDUCED);
    if (primaryUp) {
      status.synchronousStandbyNames = state.primarySettings().get("synchronous_standby_names");
      status.replication = sync.describe();
    }

    Rollout.Progress rollout = Rollout.progress(cluster.getSpec(), PostgresConfig.configHash(cluster),
        state);
    boolean archiveFailing = primaryUp && archiveFailing(cluster, state.archive());
    List<String> fenced = status.instances.stream().filter(i -> Boolean.TRUE.equals(i.fenced))
        .map(i -> i.name + (i.role == InstanceRole.PRIMARY ? " (the primary: it takes no writes)" : "")).toList();

    // A new cluster's standbys being cloned, or new ones of a scale-up: being created, not degraded (no
    // Warning for a normal bootstrap). Only while nothing else is wrong and each such pod is young and its
    // PostgreSQL has not failed (PodStartup.creating); one not ready past the grace counts as not ready.
    List<String> creating = creating(cluster, state, status, wanted, now);
    status.creatingInstances = creating.isEmpty() ? null : creating;
    boolean onlyCreating = primaryUp && !allReady && !creating.isEmpty() && lostSlots.isEmpty()
        && rollout.errors().isEmpty() && !archiveFailing
        && status.instances.stream().filter(i -> !Boolean.TRUE.equals(i.ready)).allMatch(i -> creating.contains(i.name));
    if (onlyCreating) {
      syncDegraded = false;  // commits wait for standbys that are being cloned: the cluster is not up yet
    }
    ClusterPhase previousPhase = cluster.getStatus() == null ? null : cluster.getStatus().phase;
    if (!status.initialized) {
      status.phase = ClusterPhase.Initializing;
    } else if (!primaryUp) {
      status.phase = ClusterPhase.Unavailable;
    } else if (onlyCreating) {
      status.phase = previousPhase == null || previousPhase == ClusterPhase.Initializing ? ClusterPhase.Initializing
          : ClusterPhase.Healthy;
    } else if (!allReady || !lostSlots.isEmpty() || syncDegraded || !rollout.errors().isEmpty() || archiveFailing
        || !fenced.isEmpty() || volumes.refusal() != null) {
      status.phase = ClusterPhase.Degraded;
    } else {
      status.phase = ClusterPhase.Healthy;
    }

    List<Condition> conditions = new ArrayList<>();
    if (primaryUp && allReady) {
      conditions.add(condition(cluster, ConditionTypes.READY, true, Reasons.ALL_INSTANCES_READY,
          wanted + " of " + wanted + " instances ready; primary " + state.primary().holder()));
    } else if (!primaryUp) {
      conditions.add(condition(cluster, ConditionTypes.READY, false, Reasons.PRIMARY_UNAVAILABLE,
          "primary " + state.primary().holder() + " is not running as a reachable primary"
              + (status.initialized ? "; " + failover(cluster, state) : "")));
    } else {
      conditions.add(condition(cluster, ConditionTypes.READY, false, Reasons.INSTANCES_NOT_READY,
          status.readyInstances + " of " + wanted + " instances ready" + (notReady.isEmpty() ? "" : "; not ready: " + notReady)));
    }
    if (!status.initialized) {
      conditions.add(condition(cluster, ConditionTypes.PROGRESSING, true, Reasons.BOOTSTRAPPING,
          "bootstrapping the first primary " + names.pod(0)));
    } else if (state.instances().size() != wanted || !allReady) {
      conditions.add(condition(cluster, ConditionTypes.PROGRESSING, true, Reasons.SCALING,
          "bringing " + wanted + " instances to ready (" + status.readyInstances + " ready)"));
    } else if (!rollout.converged()) {
      conditions.add(condition(cluster, ConditionTypes.PROGRESSING, true, Reasons.ROLLING_OUT,
          rollout.describe()));
    } else if (!volumes.growingAmong(instanceNames(status)).isEmpty()) {
      conditions.add(condition(cluster, ConditionTypes.PROGRESSING, true, Reasons.RESIZING_VOLUMES,
          volumes.describe(instanceNames(status))));
    } else {
      conditions.add(condition(cluster, ConditionTypes.PROGRESSING, false, Reasons.RECONCILED,
          "all objects match the spec"));
    }
    if (!lostSlots.isEmpty()) {
      conditions.add(condition(cluster, ConditionTypes.DEGRADED, true, Reasons.REPLICATION_SLOT_LOST,
          "replication slots lost WAL beyond max_slot_wal_keep_size: " + String.join(", ", lostSlots)
              + "; their standbys must be re-cloned"));
    } else if (!rollout.errors().isEmpty()) {
      conditions.add(condition(cluster, ConditionTypes.DEGRADED, true, Reasons.INVALID_CONFIGURATION,
          "PostgreSQL rejects settings from spec.postgresql (an instance restarted now would not start): "
              + String.join("; ", rollout.errors())));
    } else if (syncDegraded) {
      conditions.add(condition(cluster, ConditionTypes.DEGRADED, true,
          sync.health() == SyncReplication.Health.REDUCED ? Reasons.SYNC_QUORUM_REDUCED : Reasons.SYNC_STANDBYS_MISSING,
          sync.describe()));
    } else if (archiveFailing) {
      conditions.add(condition(cluster, ConditionTypes.DEGRADED, true, Reasons.ARCHIVE_FAILING,
          archiveFailure(cluster, state.archive())));
    } else if (volumes.refusal() != null) {
      conditions.add(condition(cluster, ConditionTypes.DEGRADED, true, Reasons.VOLUME_RESIZE_FAILED,
          "the API server refused to grow " + volumes.refusal()));
    } else if (!fenced.isEmpty()) {
      conditions.add(condition(cluster, ConditionTypes.DEGRADED, true, Reasons.INSTANCES_FENCED,
          "fenced (" + FailoverPolicy.FENCE_ANNOTATION + "): " + String.join(", ", fenced)
              + "; never promoted, standbys out of -ro"));
    } else if (onlyCreating) {
      conditions.add(condition(cluster, ConditionTypes.DEGRADED, false, Reasons.CREATING_INSTANCES,
          "creating " + creating.stream().map(named).collect(Collectors.joining(", "))));
    } else if (status.initialized && (!allReady || !primaryUp)) {
      conditions.add(condition(cluster, ConditionTypes.DEGRADED, true,
          primaryUp ? Reasons.INSTANCES_NOT_READY : Reasons.PRIMARY_UNAVAILABLE,
          primaryUp ? "not ready: " + notReady : "no reachable primary"));
    } else {
      conditions.add(condition(cluster, ConditionTypes.DEGRADED, false, Reasons.AS_EXPECTED, "no degradation"));
    }
    status.conditions = merge(cluster, conditions, now);
    PrimaryRecord record = state.primary();
    if (record.epoch() > 0) {
      PrimaryChangeStatus change = new PrimaryChangeStatus();
      change.from = record.fencePod();
      change.to = record.holder();
      change.epoch = record.epoch();
      change.at = record.changedAt() == null ? null : record.changedAt().toString();
      change.reason = record.lastChange();
      if (record.promotedAt() != null) {
        change.promotedAt = record.promotedAt().toString();
        if (record.changedAt() != null) {
          change.promotionSeconds =
              java.time.Duration.between(record.changedAt(), record.promotedAt()).toMillis() / 1000.0;
        }
      }
      if (record.rewindReport() != null) {
        change.rewind = dev.pgcluster.operator.api.v1alpha1.RewindStatus.fromReport(record.fencePod(),
            record.rewindReport());
      }
      status.lastPrimaryChange = change;
    }
    return status;
  }

  private static java.util.Set<String> instanceNames(PgClusterStatus status) {
    return status.instances.stream().map(i -> i.name).collect(Collectors.toSet());
  }

  /** What the failover logic makes of a primary that is not healthy. */
  static String failover(PgCluster cluster, ClusterState state) {
    FailoverPolicy.Decision decision = FailoverPolicy.decide(cluster.getSpec(), state, state.primaryFailures());
    if (decision instanceof FailoverPolicy.Waiting w) {
      return "failover after " + w.threshold() + " failed probes (" + w.failures() + " so far)";
    }
    if (decision instanceof FailoverPolicy.Blocked b) {
      return "no failover: " + b.reason();
    }
    return "failing over: " + ((FailoverPolicy.Promote) decision).reason();
  }

  /**
   * Instances being created: not ready, starting (PodStartup), and either the cluster was never up
   * (phase Initializing so far) or the instance is new (absent from the last status, or being created
   * in it: a scale-up). Pods the StatefulSet has not created yet count as being created while the
   * cluster has been progressing (Progressing=True) for less than PodStartup's grace. Empty when any of
   * these is not ready for another reason (failed after it ran, too long).
   */
  static List<String> creating(PgCluster cluster, ClusterState state, PgClusterStatus status, int wanted,
      Instant now) {
    PgClusterStatus previous = cluster.getStatus();
    boolean firstTime = previous == null || previous.phase == null || previous.phase == ClusterPhase.Initializing;
    Instant progressingSince = previous == null || previous.conditions == null ? now : previous.conditions.stream()
        .filter(c -> ConditionTypes.PROGRESSING.equals(c.getType()) && "True".equals(c.getStatus())
            && c.getLastTransitionTime() != null)
        .map(c -> Instant.parse(c.getLastTransitionTime())).findFirst().orElse(now);
    boolean recent = java.time.Duration.between(progressingSince, now)
        .compareTo(dev.pgcluster.operator.observe.PodStartup.GRACE) < 0;
    java.util.Set<String> known = previous == null || previous.instances == null ? new java.util.HashSet<>()
        : previous.instances.stream().map(i -> i.name).collect(Collectors.toCollection(java.util.HashSet::new));
    if (previous != null && previous.creatingInstances != null) {
      known.removeAll(previous.creatingInstances);
    }
    PgClusterNames names = PgClusterNames.of(cluster);
    List<String> creating = new ArrayList<>();
    for (int ordinal = 0; ordinal < wanted; ordinal++) {
      String name = names.pod(ordinal);
      var observed = state.instance(name);
      boolean notReady = observed.isEmpty() || status.instances.stream()
          .anyMatch(i -> i.name.equals(name) && !Boolean.TRUE.equals(i.ready));
      if (!notReady) {
        continue;
      }
      // A young pod the scheduler cannot place yet is still being created: its volume claim is bound a
      // moment after it is scheduled the first time ("unbound immediate PersistentVolumeClaims").
      boolean starting = observed.isEmpty() ? recent : observed.get().starting();
      if (!starting || !(firstTime || !known.contains(name))) {
        return List.of();
      }
      creating.add(name);
    }
    return creating;
  }

  static InstanceStatus instance(PgCluster cluster, ClusterState state, InstanceState i) {
    InstanceStatus s = new InstanceStatus();
    s.name = i.name();
    s.role = Decider.desiredRole(cluster.getSpec(), state.primary().holder(), i);
    s.ready = i.podReady();
    s.reachable = i.reachable();
    s.fenced = state.fencedByUser(i.name()) ? Boolean.TRUE : null;
    if (i.facts() != null) {
      s.timeline = i.facts().timeline();
      s.receivedLsn = i.facts().receivedLsn();
      s.replayedLsn = i.facts().replayedLsn();
      s.lagSeconds = i.facts().replayLagSeconds();
    }
    List<String> pending = new ArrayList<>();
    if (i.config() != null) {
      i.config().pendingRestart().forEach(p -> pending.add(p.toString()));
    }
    if (i.podOutdated()) {
      pending.add("pod template");
    }
    s.pendingRestart = pending.isEmpty() ? null : pending;
    if (s.role != InstanceRole.PRIMARY) {
      state.standbys().stream().filter(c -> i.name().equals(c.applicationName())).findFirst()
          .ifPresent((StandbyConnection c) -> {
            s.syncState = c.syncState();
            s.lagBytes = c.lagBytes();
          });
    }
    return s;
  }

  static Condition condition(PgCluster cluster, String type, boolean status, String reason, String message) {
    return new ConditionBuilder()
        .withType(type)
        .withStatus(status ? "True" : "False")
        .withReason(reason)
        .withMessage(message)
        .withObservedGeneration(cluster.getMetadata().getGeneration())
        .build();
  }

  /** Keeps the previous lastTransitionTime of a condition whose status did not change. */
  static List<Condition> merge(PgCluster cluster, List<Condition> fresh, Instant now) {
    List<Condition> previous = cluster.getStatus() == null || cluster.getStatus().conditions == null
        ? List.of() : cluster.getStatus().conditions;
    for (Condition c : fresh) {
      String kept = previous.stream()
          .filter(p -> p.getType().equals(c.getType()) && p.getStatus().equals(c.getStatus()))
          .map(Condition::getLastTransitionTime).findFirst().orElse(null);
      c.setLastTransitionTime(kept != null ? kept : now.toString());
    }
    return fresh;
  }

  private static PgClusterStatus copyOrNew(PgCluster cluster) {
    return cluster.getStatus() == null ? new PgClusterStatus() : cluster.getStatus();
  }
}
