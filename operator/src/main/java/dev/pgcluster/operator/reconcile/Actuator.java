package dev.pgcluster.operator.reconcile;

import dev.pgcluster.operator.api.v1alpha1.InstanceRole;
import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.operator.ha.Action;
import dev.pgcluster.operator.ha.ClusterState;
import dev.pgcluster.operator.ha.InstanceState;
import dev.pgcluster.operator.ha.Lsn;
import dev.pgcluster.operator.ha.PrimaryRecord;
import dev.pgcluster.operator.lease.LeaseConflictException;
import dev.pgcluster.operator.lease.PrimaryLease;
import dev.pgcluster.operator.metrics.PgClusterMetrics;
import dev.pgcluster.operator.naming.PgClusterNames;
import dev.pgcluster.operator.observe.Credentials;
import dev.pgcluster.operator.postgres.InstanceProbe;
import dev.pgcluster.operator.postgres.PostgresConnector;
import dev.pgcluster.operator.render.Labels;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Carries out the decider's actions through the API and SQL. Holds no policy of its own. */
public final class Actuator {
  private static final Logger LOG = LoggerFactory.getLogger(Actuator.class);

  private final KubernetesClient client;
  private final PostgresConnector connector;
  private final PrimaryLease lease;
  private final Credentials credentials;
  private final EventRecorder events;
  private final PgClusterMetrics metrics;
  private final PoolerHold pooler;
  private final java.util.Map<String, java.time.Instant> abortedPlannedSwitchovers =
      new java.util.concurrent.ConcurrentHashMap<>();

  public Actuator(KubernetesClient client, PostgresConnector connector, Credentials credentials, PrimaryLease lease,
      EventRecorder events, PgClusterMetrics metrics, PoolerHold pooler) {
    this.metrics = metrics;
    this.pooler = pooler;
    this.client = client;
    this.connector = connector;
    this.lease = lease;
    this.credentials = credentials;
    this.events = events;
  }

  /**
   * @param primaryMoved called once the Lease names a new primary and before the former one is fenced:
   *     a fenced pod is recreated at once, and its bootstrap must already read the new holder from the
   *     topology (a chaos run caught a recreated former primary starting as a primary from the stale one)
   */
  public void execute(PgCluster cluster, ClusterState state, List<Action> actions,
      java.util.function.Consumer<PrimaryRecord> primaryMoved) throws SQLException {
    String ns = cluster.getMetadata().getNamespace();
    PgClusterNames names = PgClusterNames.of(cluster);
    PrimaryRecord record = state.primary();
    java.util.Set<String> fenced = new java.util.HashSet<>();
    for (Action action : actions) {
      if (action instanceof Action.Fence fence) {
        fence(cluster, fence);
        fenced.add(fence.pod());
      } else if (action instanceof Action.SetRoleLabel label) {
        if (!fenced.contains(label.pod())) {
          label(ns, label.pod(), label.role().label());
          if (label.role() == InstanceRole.PRIMARY) {
            // The -rw Service (and a pooler behind it) follows the label: say when it moves.
            String before = state.instances().stream().filter(i -> InstanceRole.PRIMARY.label().equals(i.roleLabel()))
                .map(i -> i.name()).findFirst().orElse(null);
            events.normal(cluster, EventReasons.SERVICES_SWITCHED, names.readWriteService() + " routes to "
                + label.pod() + (before == null ? "" : " (was " + before + ")"));
          }
        }
      } else if (action instanceof Action.TransferPrimary transfer) {
        record = lease.transfer(ns, names.primaryLease(), record, transfer.to(), transfer.from(), transfer.fromUid(),
            transfer.reason(), transfer.switchoverId(), false, transfer.switchoverId() != null);
        metrics.failoverStarted(cluster);
        LOG.warn("FAILOVER (epoch {}): {}{}", record.epoch(), transfer.reason(), transfer.switchoverId() != null
            ? "; forced: commits that " + transfer.to() + " did not receive are lost"
            : transfer.mayLoseCommits()
                ? "; replication was not synchronous with durability required, so recent commits may be lost" : "");
        events.warning(cluster, EventReasons.FAILOVER_STARTED, "epoch " + record.epoch() + ": " + transfer.reason());
        primaryMoved.accept(record);
        label(ns, transfer.from(), InstanceRole.REPLICA.label());
        if (transfer.fromUid() != null) {
          fence(cluster, new Action.Fence(transfer.from(), transfer.fromUid(), "failed primary " + transfer.from()
              + " is fenced before " + transfer.to() + " is promoted"));
        }
        // After the fence, so that a pooler that does not answer never delays it.
        pooler.disconnect(cluster, "failover to " + transfer.to() + " (epoch " + record.epoch() + ")");
      } else if (action instanceof Action.Switchover switchover) {
        record = switchover(cluster, state, switchover, record, primaryMoved);
      } else if (action instanceof Action.RestartStandby restart) {
        if (deletePod(ns, restart.pod(), restart.uid())) {
          LOG.warn("restarting standby {}: {}", restart.pod(), restart.reason());
          events.warning(cluster, EventReasons.STANDBY_RESTARTED, restart.reason());
        }
      } else if (action instanceof Action.RestartForUpdate restart) {
        if (deletePod(ns, restart.pod(), restart.uid())) {
          LOG.info("{}", restart.reason());
          events.normal(cluster, EventReasons.RESTARTED_FOR_UPDATE, restart.reason());
        }
      } else if (action instanceof Action.ReloadConfiguration reload) {
        if (onInstance(cluster, state, reload.pod(), "reload its configuration", InstanceProbe::reloadConfiguration)) {
          LOG.info("reloaded the configuration of {}: {}", reload.pod(), reload.reason());
          events.normal(cluster, EventReasons.CONFIGURATION_RELOADED, reload.pod() + ": " + reload.reason());
        }
      } else if (action instanceof Action.Promote promote) {
        if (promote(cluster, state, promote, record)) {
          record = lease.markPromoted(ns, names.primaryLease(), record);
        }
      } else if (action instanceof Action.ReattachStandby reattach) {
        if (onInstance(cluster, state, reattach.pod(), "reconnect it to its upstream",
            InstanceProbe::reattachToUpstream)) {
          LOG.info("standby {} follows {} again (its upstream was cut during a failover)", reattach.pod(),
              state.primary().holder());
        }
      } else if (action instanceof Action.MarkInitialized) {
        record = lease.markInitialized(ns, names.primaryLease(), record);
        events.normal(cluster, EventReasons.CLUSTER_INITIALIZED, "primary " + record.holder() + " is up; the cluster is"
            + " initialized and initdb will never run again for it");
      } else if (action instanceof Action.RestoreHolder restore) {
        record = lease.restoreHolder(ns, names.primaryLease(), record);
        String why = "the primary Lease's holderIdentity was changed to '" + restore.edited() + "' by someone other"
            + " than the operator; its record names " + restore.holder() + " (epoch " + record.epoch() + "): put back."
            + " To move the primary, set spec.switchover";
        LOG.warn("{}", why);
        events.warning(cluster, EventReasons.PRIMARY_LEASE_EDITED, why);
      } else if (action instanceof Action.RecordRewind rewind) {
        record = lease.recordRewind(ns, names.primaryLease(), record, rewind.report());
        var realised = dev.pgcluster.operator.api.v1alpha1.RewindStatus.fromReport(rewind.pod(), rewind.report());
        if (realised != null) {
          metrics.rewound(cluster, realised.bytes, realised.transactions);
          if (realised.transactions > 0) {
            LOG.warn("epoch {}: {}", record.epoch(), realised.describe());
            events.warning(cluster, EventReasons.TRANSACTIONS_DISCARDED, "epoch " + record.epoch() + ": " + realised.describe());
          } else {
            LOG.info("epoch {}: {}", record.epoch(), realised.describe());
            events.normal(cluster, EventReasons.FORMER_PRIMARY_REWOUND, "epoch " + record.epoch() + ": " + realised.describe());
          }
        }
      } else if (action instanceof Action.MarkPromoted) {
        record = lease.markPromoted(ns, names.primaryLease(), record);
      } else if (action instanceof Action.SetLeaseDuration duration) {
        int before = record.leaseDurationSeconds();
        record = lease.setDuration(ns, names.primaryLease(), record, duration.seconds());
        LOG.info("primary Lease duration {} s -> {} s (spec.failover.leaseDurationSeconds)", before, duration.seconds());
      }
    }
    List<Action> slotActions = actions.stream()
        .filter(a -> a instanceof Action.CreateSlot || a instanceof Action.DropSlot
            || a instanceof Action.ApplyPrimarySettings).toList();
    if (!slotActions.isEmpty() && !record.holder().equals(state.primary().holder())) {
      // They were decided for the primary this reconcile began with, which a switchover has just made
      // read-only: its settings (default_transaction_read_only = off among them) must not be applied.
      LOG.info("the primary moved to {} in this reconcile: {} left for the next one", record.holder(), slotActions);
    } else if (!slotActions.isEmpty()) {
      executeOnPrimary(cluster, state, slotActions);
    }
  }

  /**
   * A switchover's move of the Lease. The primary's agent keeps renewing the Lease while the target
   * catches up (a read-only primary is still the primary), and each renewal changes its version: read
   * it again and move it if only a renewal came between (same holder, same epoch). With a renew every
   * 0.8 s, a benchmark's switchover failed five times on the version read before the catch-up, the
   * primary read-only all along (a write gap of 15 s).
   */
  private PrimaryRecord transferRenewed(String ns, String name, PrimaryRecord decidedOn,
      java.util.function.Function<PrimaryRecord, PrimaryRecord> transfer) {
    for (int attempt = 1; ; attempt++) {
      PrimaryRecord current = lease.read(ns, name).orElseThrow(() -> new LeaseConflictException(
          "primary Lease " + name + " is gone"));
      if (!current.holder().equals(decidedOn.holder()) || current.epoch() != decidedOn.epoch()) {
        throw new LeaseConflictException("primary Lease " + name + " moved to " + current.holder() + " (epoch "
            + current.epoch() + ") since it was read");
      }
      try {
        return transfer.apply(current);
      } catch (LeaseConflictException e) {
        if (attempt >= 3) {
          throw e;
        }
      } catch (io.fabric8.kubernetes.client.KubernetesClientException e) {
        if (e.getCode() != 409 || attempt >= 3) {
          throw e;
        }
      }
    }
  }

  /**
   * The primary stops taking writes (read-only, sessions ended), the target replays up to the
   * primary's last WAL, then the Lease moves and the old primary is fenced; promotion follows on the
   * next reconcile, as after a failover. If the target does not catch up in 30 s, writes resume.
   */
  private PrimaryRecord switchover(PgCluster cluster, ClusterState state, Action.Switchover switchover,
      PrimaryRecord record, java.util.function.Consumer<PrimaryRecord> primaryMoved) throws SQLException {
    String ns = cluster.getMetadata().getNamespace();
    String password = credentials.superuserPassword(cluster).orElseThrow();
    InstanceState primary = state.instance(switchover.from()).orElseThrow();
    InstanceState target = state.instance(switchover.target()).orElseThrow();
    long start = System.nanoTime();
    // Before the primary turns read-only: pooled transactions finish on it and the next ones wait.
    pooler.pause(cluster, "switchover to " + switchover.target());
    String lsn;
    try (Connection p = connector.connect(primary.podIp(), PgClusterNames.POSTGRES_PORT, PgClusterNames.SUPERUSER,
        password)) {
      InstanceProbe.alterSystem(p, java.util.Map.of("default_transaction_read_only", "on"));
      awaitReadOnlyForNewSessions(primary, password);
      InstanceProbe.terminateClientSessions(p);
      lsn = InstanceProbe.currentLsn(p);
    }
    LOG.info("{}: switching over to {}: {} is read-only at {}; waiting for {} to replay it", switchover.why(),
        switchover.target(), switchover.from(), lsn, switchover.target());
    boolean caughtUp = false;
    try (Connection t = connector.connect(target.podIp(), PgClusterNames.POSTGRES_PORT, PgClusterNames.SUPERUSER,
        password)) {
      long deadline = System.nanoTime() + java.time.Duration.ofSeconds(30).toNanos();
      while (!(caughtUp = InstanceProbe.replayedUpTo(t, lsn)) && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (!caughtUp) {
      try (Connection p = connector.connect(primary.podIp(), PgClusterNames.POSTGRES_PORT, PgClusterNames.SUPERUSER,
          password)) {
        InstanceProbe.alterSystem(p, java.util.Map.of("default_transaction_read_only", "off"));
      }
      pooler.release(cluster, "switchover to " + switchover.target() + " aborted");
      if (switchover.id() == null) {
        abortedPlannedSwitchovers.put(ns + "/" + cluster.getMetadata().getName(), java.time.Instant.now());
      }
      events.warning(cluster, EventReasons.SWITCHOVER_ABORTED, switchover.why() + ": " + switchover.target()
          + " did not replay up to " + lsn + " within 30 s; " + switchover.from() + " takes writes again");
      return record;
    }
    String reason = switchover.why() + ": " + switchover.from() + " -> "
        + switchover.target() + " (caught up to " + lsn + ")";
    PrimaryRecord moved = transferRenewed(ns, PgClusterNames.of(cluster).primaryLease(), record,
        current -> lease.transfer(ns, PgClusterNames.of(cluster).primaryLease(), current, switchover.target(),
            switchover.from(), switchover.fromUid(), reason, switchover.id(), true));
    primaryMoved.accept(moved);
    fence(cluster, new Action.Fence(switchover.from(), switchover.fromUid(), "switched over to "
        + switchover.target()));
    LOG.warn("SWITCHOVER (epoch {}): {} in {} ms so far", moved.epoch(), reason,
        (System.nanoTime() - start) / 1_000_000);
    events.normal(cluster, EventReasons.SWITCHOVER_STARTED, "epoch " + moved.epoch() + ": " + reason);
    return moved;
  }

  /**
   * The reload that makes new sessions read-only is asynchronous: a session opened in between could
   * still commit after the LSN the target must replay. Wait (up to 2 s) until a new session is read-only.
   */
  private void awaitReadOnlyForNewSessions(InstanceState primary, String password) throws SQLException {
    long deadline = System.nanoTime() + java.time.Duration.ofSeconds(2).toNanos();
    while (System.nanoTime() < deadline) {
      try (Connection probe = connector.connect(primary.podIp(), PgClusterNames.POSTGRES_PORT, PgClusterNames.SUPERUSER,
          password); java.sql.Statement st = probe.createStatement();
          java.sql.ResultSet rs = st.executeQuery("SHOW default_transaction_read_only")) {
        rs.next();
        if ("on".equals(rs.getString(1))) {
          return;
        }
      }
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
    LOG.warn("{}: new sessions not yet read-only 2 s after the reload", primary.name());
  }

  /** Out of the Services and deleted, if it is still the same pod. */
  private void fence(PgCluster cluster, Action.Fence fence) {
    String ns = cluster.getMetadata().getNamespace();
    var pod = client.pods().inNamespace(ns).withName(fence.pod()).get();
    if (pod == null || (fence.uid() != null && !fence.uid().equals(pod.getMetadata().getUid()))) {
      return;
    }
    label(ns, fence.pod(), InstanceRole.REPLICA.label());
    // Grace period 0: a failed or extra primary is killed, not shut down cleanly. A clean shutdown
    // would still stream its shutdown checkpoint to the standbys, past the new primary's fork point.
    client.pods().inNamespace(ns).withName(fence.pod()).withGracePeriod(0).delete();
    LOG.warn("fenced {}: pod deleted ({})", fence.pod(), fence.reason());
    events.warning(cluster, EventReasons.FENCED, "pod " + fence.pod() + " deleted: " + fence.reason());
  }

  /** A graceful delete (the pod's preStop stops PostgreSQL cleanly) of this very pod, not a successor. */
  private boolean deletePod(String ns, String name, String uid) {
    var pod = client.pods().inNamespace(ns).withName(name).get();
    if (pod == null || !pod.getMetadata().getUid().equals(uid)) {
      return false;
    }
    client.pods().inNamespace(ns).withName(name).delete();
    return true;
  }

  /** SQL on one instance that may fail without failing the reconcile: the next one tries again. */
  private boolean onInstance(PgCluster cluster, ClusterState state, String pod, String what, SqlStep step) {
    try (Connection c = connect(cluster, state.instance(pod).orElseThrow())) {
      step.run(c);
      return true;
    } catch (SQLException e) {
      LOG.warn("could not {} on {} ({}); trying again on the next reconcile", what, pod, e.getMessage());
      return false;
    }
  }

  private interface SqlStep {
    void run(Connection c) throws SQLException;
  }

  /** When a switchover the operator planned itself last gave up, per cluster (it is not retried for a while). */
  public java.time.Instant lastAbortedPlannedSwitchover(PgCluster cluster) {
    return abortedPlannedSwitchovers.get(cluster.getMetadata().getNamespace() + "/" + cluster.getMetadata().getName());
  }

  private void label(String ns, String pod, String role) {
    try {
      // A merge patch of the one label, without the resourceVersion: the kubelet rewrites the pod's
      // status all the time, and an optimistic lock would turn that into a 409 and a retry mid-failover.
      client.pods().inNamespace(ns).withName(pod).patch(PatchContext.of(PatchType.JSON_MERGE),
          "{\"metadata\":{\"labels\":{\"" + Labels.ROLE + "\":\"" + role + "\"}}}");
      LOG.info("labelled pod {} as {}", pod, role);
    } catch (io.fabric8.kubernetes.client.KubernetesClientException e) {
      if (e.getCode() != 404) {
        throw e;
      }
    }
  }

  /**
   * pg_promote() on the holder, then slots for the other standbys so they stream at once. First every
   * other reachable standby is cut off its upstream: a former primary that is not dead yet (frozen,
   * then thawed before its fence took effect) could otherwise still get its synchronous commits
   * acknowledged by a standby that follows it, commits the new primary never has. Once they receive
   * nothing more, their positions are final: if one received more than the holder, the holder is not
   * promoted and the next reconcile moves the Lease to it. Returns whether the holder was promoted.
   */
  private boolean promote(PgCluster cluster, ClusterState state, Action.Promote promote, PrimaryRecord record)
      throws SQLException {
    InstanceState holder = state.instance(promote.pod()).orElseThrow();
    long start = System.nanoTime();
    List<InstanceState> others = state.instances().stream()
        .filter(i -> !i.name().equals(holder.name()) && i.reachable() && i.facts().inRecovery()).toList();
    java.util.Map<String, String> frozenAt = detach(cluster, others);
    try (Connection c = connect(cluster, holder)) {
      String holderLsn = InstanceProbe.receivedLsn(c);
      for (var other : frozenAt.entrySet()) {
        // (Not after a switchover or a forced promotion, never in favour of the former primary: see
        // Decider.takeOver. Nor of a fenced standby, which is never promoted: under durability required
        // the failover policy counted it as not there, which only makes it more careful.)
        if (!record.formerReadOnly() && !record.forced() && !other.getKey().equals(record.fencePod())
            && !state.fencedByUser(other.getKey())
            && Lsn.parse(other.getValue()) > Lsn.parse(holderLsn)) {
          LOG.warn("not promoting {} (received {}): {} received {} from the former primary after the Lease moved;"
              + " it is promoted instead on the next reconcile", holder.name(), holderLsn, other.getKey(), other.getValue());
          events.warning(cluster, EventReasons.PROMOTION_DEFERRED, other.getKey() + " received " + other.getValue()
              + ", more than " + holder.name() + " (" + holderLsn + "): the more advanced standby is promoted instead");
          return false;
        }
      }
      InstanceProbe.promote(c);
      PgClusterNames names = PgClusterNames.of(cluster);
      if (!Boolean.FALSE.equals(cluster.getSpec().replication.slots)) {
        for (int ordinal = 0; ordinal < cluster.getSpec().instances; ordinal++) {
          if (!names.pod(ordinal).equals(promote.pod())) {
            InstanceProbe.createSlot(c, PgClusterNames.slotName(names.pod(ordinal)));
          }
        }
      }
    }
    // The new primary is writable and holds the Lease: the others may follow it (through -rw) at once.
    for (String other : frozenAt.keySet()) {
      onInstance(cluster, state, other, "reconnect it to its upstream", InstanceProbe::reattachToUpstream);
    }
    double promoteSeconds = (System.nanoTime() - start) / 1e9;
    java.time.Duration sinceChange = record.changedAt() == null ? null
        : java.time.Duration.between(record.changedAt(), java.time.Instant.now());
    metrics.promoted(cluster, sinceChange);
    LOG.warn("promoted {} to primary (epoch {}) in {} s: {}", promote.pod(), record.epoch(),
        String.format("%.2f", promoteSeconds), promote.reason());
    events.normal(cluster, EventReasons.PROMOTED, promote.pod() + " is the primary (epoch " + record.epoch() + "), promoted in "
        + String.format("%.2f", promoteSeconds) + " s" + (sinceChange == null ? ""
            : ", " + String.format("%.1f", sinceChange.toMillis() / 1000.0) + " s after the change of primary"));
    return true;
  }

  /**
   * Cuts each standby off its upstream and waits (up to 5 s) until its WAL receiver has stopped;
   * returns the final received position of each standby cut off. One that cannot be reached is
   * left out: the failover policy already required enough of them to be reachable.
   */
  private java.util.Map<String, String> detach(PgCluster cluster, List<InstanceState> standbys) {
    java.util.Map<String, String> frozenAt = new java.util.LinkedHashMap<>();
    for (InstanceState standby : standbys) {
      try (Connection c = connect(cluster, standby)) {
        InstanceProbe.detachFromUpstream(c);
        long deadline = System.nanoTime() + java.time.Duration.ofSeconds(5).toNanos();
        while (InstanceProbe.receiving(c) && System.nanoTime() < deadline) {
          Thread.sleep(10);
        }
        if (InstanceProbe.receiving(c)) {
          LOG.warn("standby {} still receives WAL 5 s after its upstream was cut", standby.name());
        }
        frozenAt.put(standby.name(), InstanceProbe.receivedLsn(c));
      } catch (SQLException e) {
        LOG.warn("could not cut standby {} off its upstream before the promotion: {}", standby.name(), e.getMessage());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    LOG.info("standbys cut off their upstream before the promotion, at: {}", frozenAt);
    return frozenAt;
  }

  private Connection connect(PgCluster cluster, InstanceState instance) throws SQLException {
    try {
      return connector.connect(instance.podIp(), PgClusterNames.POSTGRES_PORT, PgClusterNames.SUPERUSER,
          credentials.superuserPassword(cluster).orElseThrow());
    } catch (SQLException e) {
      credentials.failed(cluster, e);
      throw e;
    }
  }

  private void executeOnPrimary(PgCluster cluster, ClusterState state, List<Action> actions) throws SQLException {
    InstanceState primary = state.healthyPrimary().orElseThrow();
    String password = credentials.superuserPassword(cluster).orElseThrow();
    try (Connection c = connector.connect(primary.podIp(), PgClusterNames.POSTGRES_PORT, PgClusterNames.SUPERUSER, password)) {
      for (Action action : actions) {
        if (action instanceof Action.CreateSlot create) {
          InstanceProbe.createSlot(c, create.slot());
          LOG.info("created replication slot {} on primary {}", create.slot(), primary.name());
        } else if (action instanceof Action.ApplyPrimarySettings apply) {
          java.util.Map<String, String> settings = new java.util.LinkedHashMap<>(apply.settings());
          // Decided from an observation made earlier: an agent that fenced its primary since then must
          // not see its read-only undone here (the file check narrows the window to this round trip).
          if (settings.containsKey("default_transaction_read_only")
              && InstanceProbe.fenceMarkerWritten(c, dev.pgcluster.operator.ha.SyncReplication.AGENT_FENCE_MARKER)) {
            settings.remove("default_transaction_read_only");
            LOG.info("primary {} has been fenced by its agent since it was observed: it stays read-only", primary.name());
            if (settings.isEmpty()) {
              continue;
            }
          }
          InstanceProbe.alterSystem(c, settings);
          if ("on".equals(settings.get("default_transaction_read_only"))) {
            // Fenced by the user: sessions opened before would keep their read-write default. Ended once
            // the reload is in force, so that a client reconnecting at once gets a read-only session.
            awaitReadOnlyForNewSessions(primary, password);
            InstanceProbe.terminateClientSessions(c);
          }
          String before = settings.keySet().stream()
              .map(k -> k + " '" + state.primarySettings().getOrDefault(k, "?") + "'").collect(
                  java.util.stream.Collectors.joining(", "));
          LOG.info("primary {}: set {} (was {}): {}", primary.name(), settings, before, apply.reason());
          events.normal(cluster, settings.containsKey("default_transaction_read_only")
              ? EventReasons.PRIMARY_WRITES_CHANGED : EventReasons.SYNCHRONOUS_REPLICATION_CHANGED,
              "primary " + primary.name() + ": "
              + settings.entrySet().stream().map(e -> e.getKey() + " = '" + e.getValue() + "'")
                  .collect(java.util.stream.Collectors.joining(", ")) + ": " + apply.reason());
        } else if (action instanceof Action.DropSlot drop) {
          InstanceProbe.dropSlot(c, drop.slot());
          LOG.info("dropped replication slot {} on primary {}: its standby is no longer in the spec",
              drop.slot(), primary.name());
        }
      }
    }
  }
}
