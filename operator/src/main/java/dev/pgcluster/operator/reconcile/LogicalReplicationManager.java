package dev.pgcluster.operator.reconcile;

import dev.pgcluster.operator.api.v1alpha1.LogicalReplicationSpec;
import dev.pgcluster.operator.api.v1alpha1.LogicalReplicationStatus;
import dev.pgcluster.operator.api.v1alpha1.LogicalReplicationStatus.LogicalSubscriptionStatus;
import dev.pgcluster.operator.api.v1alpha1.LogicalSubscriptionSpec;
import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.operator.ha.ClusterState;
import dev.pgcluster.operator.ha.InstanceState;
import dev.pgcluster.operator.logical.LogicalPlan;
import dev.pgcluster.operator.logical.LogicalSql;
import dev.pgcluster.operator.naming.PgClusterNames;
import dev.pgcluster.operator.observe.Credentials;
import dev.pgcluster.operator.observe.SecretValues;
import dev.pgcluster.operator.postgres.PoolerSql;
import dev.pgcluster.operator.postgres.PostgresConnector;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps spec.logicalReplication on the primary (LogicalPlan decides, LogicalSql acts): the pglogical node,
 * its replication set, its subscriptions. Never throws: a step that fails is reported in
 * status.logicalReplication and as a Warning event, once; the other steps and the cluster go on.
 * A pass runs when the spec, a credentials Secret or the primary changed, and otherwise every RECHECK
 * (new tables get published, subscription states are read).
 */
final class LogicalReplicationManager {
  private static final Logger LOG = LoggerFactory.getLogger(LogicalReplicationManager.class);
  static final Duration RECHECK = Duration.ofSeconds(10);

  private final KubernetesClient client;
  private final PostgresConnector connector;
  private final Credentials credentials;
  private final EventRecorder events;
  private final Clock clock;
  private final Map<String, Pass> passes = new ConcurrentHashMap<>();

  private record Pass(String fingerprint, Instant at, LogicalReplicationStatus status) {}

  LogicalReplicationManager(KubernetesClient client, PostgresConnector connector, Credentials credentials,
      EventRecorder events, Clock clock) {
    this.client = client;
    this.connector = connector;
    this.credentials = credentials;
    this.events = events;
    this.clock = clock;
  }

  LogicalReplicationStatus status(PgCluster cluster, LogicalReplicationStatus previous) {
    if (cluster.getSpec().logicalReplication == null) {
      return null;
    }
    Pass pass = passes.get(key(cluster));
    return pass != null ? pass.status() : previous;
  }

  void forget(String namespace, String name) {
    passes.remove(namespace + "/" + name);
  }

  void apply(PgCluster cluster, ClusterState state) {
    try {
      applyOrThrow(cluster, state);
    } catch (RuntimeException e) {
      LOG.warn("logical replication of {} not reconciled: {}", key(cluster), e.toString());
    }
  }

  private void applyOrThrow(PgCluster cluster, ClusterState state) {
    LogicalReplicationSpec spec = cluster.getSpec().logicalReplication;
    if (spec == null) {
      return;
    }
    Optional<InstanceState> primary = state.healthyPrimary();
    if (primary.isEmpty()) {
      return;
    }
    String ns = cluster.getMetadata().getNamespace();
    Map<String, Secret> secrets = new HashMap<>();
    StringBuilder fingerprint = new StringBuilder(primary.get().name()).append('|').append(primary.get().podUid());
    for (LogicalSubscriptionSpec s : spec.subscriptions) {
      if (s.credentials != null && s.credentials.secret != null && !secrets.containsKey(s.credentials.secret)) {
        Secret secret = client.secrets().inNamespace(ns).withName(s.credentials.secret).get();
        secrets.put(s.credentials.secret, secret);
        fingerprint.append('|').append(s.credentials.secret).append('=')
            .append(secret == null ? "-" : secret.getMetadata().getResourceVersion());
      }
    }
    fingerprint.append('|').append(client.getKubernetesSerialization().asJson(spec));
    Pass last = passes.get(key(cluster));
    if (last != null && last.fingerprint().contentEquals(fingerprint)
        && Duration.between(last.at(), clock.instant()).compareTo(RECHECK) < 0) {
      return;
    }
    String superuser = credentials.superuserPassword(cluster).orElse(null);
    if (superuser == null) {
      return;
    }
    String database = cluster.getSpec().bootstrap.database;
    try (Connection c = connector.connect(primary.get().podIp(), PgClusterNames.POSTGRES_PORT, database,
        PgClusterNames.SUPERUSER, superuser)) {
      if (!PoolerSql.takesWrites(c)) {
        return;
      }
      LogicalReplicationStatus before = last != null ? last.status()
          : cluster.getStatus() == null ? null : cluster.getStatus().logicalReplication;
      LogicalReplicationStatus now = pass(cluster, c, spec, secrets, superuser, before, state.primary().epoch(),
          primary.get().name());
      passes.put(key(cluster), new Pass(fingerprint.toString(), clock.instant(), now));
    } catch (SQLException e) {
      LOG.info("logical replication of {} not checked on {} yet: {}", key(cluster), primary.get().name(),
          LogicalSql.withoutPasswords(e.getMessage()));
    }
  }

  private LogicalReplicationStatus pass(PgCluster cluster, Connection c, LogicalReplicationSpec spec,
      Map<String, Secret> secrets, String superuser, LogicalReplicationStatus before, int epoch, String primary)
      throws SQLException {
    PgClusterNames names = PgClusterNames.of(cluster);
    String nodeName = LogicalPlan.nodeName(spec, cluster.getMetadata().getName());
    Set<String> managed = new TreeSet<>();
    if (before != null) {
      before.subscriptions.forEach(s -> managed.add(s.name));
    }
    LogicalPlan.Plan plan = LogicalPlan.plan(spec, nodeName, LogicalSql.observe(c), managed);
    Map<String, String> failed = new HashMap<>();
    String nodeProblem = null;
    for (LogicalPlan.Step step : plan.steps()) {
      try {
        if (step instanceof LogicalPlan.Step.CreateExtension) {
          LogicalSql.createExtension(c);
        } else if (step instanceof LogicalPlan.Step.CreateNode node) {
          String host = names.readWriteService() + "." + cluster.getMetadata().getNamespace() + ".svc";
          LogicalSql.createNode(c, node.name(), LogicalSql.dsn(host, PgClusterNames.POSTGRES_PORT,
              cluster.getSpec().bootstrap.database, PgClusterNames.SUPERUSER, superuser));
          updated(cluster, "pglogical node " + node.name() + " created in database "
              + cluster.getSpec().bootstrap.database);
        } else if (step instanceof LogicalPlan.Step.Publish publish) {
          LogicalSql.publish(c, publish.table());
          updated(cluster, "table " + publish.table() + " published by node " + nodeName);
        } else if (step instanceof LogicalPlan.Step.Subscribe subscribe) {
          subscribe(cluster, c, subscribe.subscription(), secrets, failed);
        } else if (step instanceof LogicalPlan.Step.Unsubscribe u) {
          LogicalSql.unsubscribe(c, u.name());
          updated(cluster, "subscription " + u.name() + " dropped (no longer in spec.logicalReplication); its slot"
              + " on the provider with it when the provider could be reached");
        }
      } catch (SQLException e) {
        nodeProblem = "logicalReplication: " + LogicalSql.withoutPasswords(e.getMessage());
        break;  // the next steps depend on this one
      }
    }
    LogicalReplicationStatus now = new LogicalReplicationStatus();
    LogicalPlan.Observed after = LogicalSql.observe(c);
    now.node = after.node();
    now.waiting = plan.waiting() != null ? plan.waiting() : nodeProblem;
    now.tables = new ArrayList<>(after.published());
    now.tablesWithoutPrimaryKey = plan.withoutPrimaryKey();
    for (LogicalSubscriptionSpec s : spec.subscriptions) {
      String state = after.subscriptions().get(s.name);
      String problem = failed.get(s.name);
      now.subscriptions.add(problem != null ? new LogicalSubscriptionStatus(s.name, "failed", problem)
          : new LogicalSubscriptionStatus(s.name, state == null ? "absent" : state, null));
    }
    now.conflictResolution = conflictRule(cluster, c, spec, before, after);
    now.slots = slots(cluster, c, before, epoch, primary);
    report(cluster, before, now, plan.missing());
    return now;
  }

  /** A subscription's failure (its credentials, or pglogical's refusal) is its own: the others go on. */
  private void subscribe(PgCluster cluster, Connection c, LogicalSubscriptionSpec s, Map<String, Secret> secrets,
      Map<String, String> failed) {
    Secret secret = secrets.get(s.credentials.secret);
    String problem = credentialsProblem(s, secret);
    if (problem != null) {
      failed.put(s.name, problem);
      return;
    }
    String dsn = LogicalSql.dsn(s.host, s.port == null ? 5432 : s.port,
        s.database != null ? s.database : cluster.getSpec().bootstrap.database,
        SecretValues.value(secret, "username").orElseThrow(), SecretValues.value(secret, "password").orElseThrow());
    try {
      LogicalSql.subscribe(c, s.name, dsn, Boolean.TRUE.equals(s.copyData));
      updated(cluster, "subscription " + s.name + " to " + s.host + " created (changes from other nodes are not"
          + " forwarded)");
    } catch (SQLException e) {
      failed.put(s.name, "logicalReplication.subscriptions[" + s.name + "]: " + LogicalSql.withoutPasswords(e.getMessage()));
    }
  }

  /**
   * The rule the apply workers run with. pglogical's workers read pglogical.conflict_resolution when they
   * start, not on a reload: once the server holds a new rule, each subscription's worker is restarted.
   */
  private String conflictRule(PgCluster cluster, Connection c, LogicalReplicationSpec spec,
      LogicalReplicationStatus before, LogicalPlan.Observed after) throws SQLException {
    String wanted = spec.conflictResolution == null ? "apply_remote" : spec.conflictResolution.value();
    String running = before == null ? null : before.conflictResolution;
    String configured = LogicalSql.conflictResolution(c);
    if (after.subscriptions().isEmpty() || running == null) {
      return configured;  // workers not started yet, or started with what the server holds
    }
    if (running.equals(wanted) || !wanted.equals(configured)) {
      return running;  // in effect, or the server has not reloaded the new rule yet (the next pass)
    }
    // Only the declared subscriptions that run: one disabled by hand stays disabled.
    List<String> restarted = spec.subscriptions.stream().map(s -> s.name)
        .filter(name -> after.subscriptions().containsKey(name) && !"disabled".equals(after.subscriptions().get(name)))
        .toList();
    for (String subscription : restarted) {
      LogicalSql.restartWorker(c, subscription);
    }
    updated(cluster, "conflict rule " + wanted + " in effect (was " + running + "): apply workers of "
        + String.join(", ", restarted) + " restarted to read it");
    return wanted;
  }

  /**
   * The subscribers' slots on this primary, after creating again those a failover or switchover left
   * behind on the former primary. What their subscribers miss is said in the slot's status and in a
   * Warning event: changes committed after the last position seen confirmed, up to the new slot's start.
   */
  private List<LogicalReplicationStatus.SlotStatus> slots(PgCluster cluster, Connection c,
      LogicalReplicationStatus before, int epoch, String primary) throws SQLException {
    List<LogicalReplicationStatus.SlotStatus> seen = before == null ? List.of() : before.slots;
    Set<String> present = new TreeSet<>();
    List<LogicalSql.Slot> observedSlots = LogicalSql.slots(c);
    observedSlots.forEach(s -> present.add(s.name()));
    Map<String, String> recreated = new HashMap<>();
    Map<String, String[]> gaps = new HashMap<>();
    List<LogicalReplicationStatus.SlotStatus> failedAgain = new ArrayList<>();
    List<LogicalPlan.SeenSlot> seenSlots = seen.stream()
        .map(s -> new LogicalPlan.SeenSlot(s.name, s.epoch == null ? epoch : s.epoch)).toList();
    for (String name : LogicalPlan.slotsToRecreate(seenSlots, epoch, present)) {
      LogicalReplicationStatus.SlotStatus was = seen.stream().filter(s -> s.name.equals(name)).findFirst().orElseThrow();
      try {
        String start = LogicalSql.recreateSlot(c, name);
        String from = was.confirmedLsn == null || was.confirmedLsn.isEmpty() ? null : was.confirmedLsn;
        String gap = "created again on " + primary + " (epoch " + epoch + ") at " + start + ": its subscriber may have"
            + " missed changes committed on this cluster " + (from == null ? "before " + start
                : "between " + from + " (the last position it was seen to confirm, epoch " + was.epoch + ") and "
                + start);
        gaps.put(name, new String[] {from, start});
        recreated.put(name, gap);
        LOG.warn("{}: logical slot {} {}", key(cluster), name, gap);
        events.warning(cluster, EventReasons.LOGICAL_SLOT_RECREATED, "slot " + name + " " + gap);
      } catch (SQLException e) {
        // Kept in the status under its former epoch: the next pass tries again.
        String message = "slot " + name + " not created again on " + primary + " (epoch " + epoch + "): "
            + LogicalSql.withoutPasswords(e.getMessage()) + "; its subscriber streams nothing until it is";
        if (!message.equals(was.recreated)) {
          LOG.warn("{}: {}", key(cluster), message);
          events.warning(cluster, EventReasons.LOGICAL_REPLICATION_FAILED, message);
        }
        LogicalReplicationStatus.SlotStatus retry = new LogicalReplicationStatus.SlotStatus();
        retry.name = was.name;
        retry.epoch = was.epoch;
        retry.confirmedLsn = was.confirmedLsn;
        retry.active = false;
        retry.recreated = message;
        failedAgain.add(retry);
      }
    }
    List<LogicalReplicationStatus.SlotStatus> out = new ArrayList<>();
    // Read again only when some were made again.
    for (LogicalSql.Slot slot : recreated.isEmpty() ? observedSlots : LogicalSql.slots(c)) {
      LogicalReplicationStatus.SlotStatus status = new LogicalReplicationStatus.SlotStatus();
      status.name = slot.name();
      status.active = slot.active();
      status.lagBytes = slot.lagBytes();
      status.confirmedLsn = slot.confirmedLsn();
      status.epoch = epoch;
      LogicalReplicationStatus.SlotStatus was = seen.stream().filter(s -> s.name.equals(slot.name())).findFirst()
          .orElse(null);
      if (recreated.containsKey(slot.name())) {
        status.recreated = recreated.get(slot.name());
        status.gapFrom = gaps.get(slot.name())[0];
        status.gapTo = gaps.get(slot.name())[1];
      } else if (was != null) {
        status.recreated = was.recreated;
        status.gapFrom = was.gapFrom;
        status.gapTo = was.gapTo;
      }
      out.add(status);
    }
    out.addAll(failedAgain);
    return out;
  }

  /** Events for what changed since the last status: each problem once, each subscription state change. */
  private void report(PgCluster cluster, LogicalReplicationStatus before, LogicalReplicationStatus now,
      List<String> missing) {
    if (now.waiting != null && (before == null || !now.waiting.equals(before.waiting))) {
      LOG.info("{}: logical replication waits: {}", key(cluster), now.waiting);
      if (now.waiting.startsWith("logicalReplication:")) {
        events.warning(cluster, EventReasons.LOGICAL_REPLICATION_FAILED, now.waiting);
      }
    }
    if (!now.tablesWithoutPrimaryKey.isEmpty()
        && (before == null || !now.tablesWithoutPrimaryKey.equals(before.tablesWithoutPrimaryKey))) {
      String message = "not published, no primary key (pglogical needs one to replicate updates and deletes): "
          + String.join(", ", now.tablesWithoutPrimaryKey);
      LOG.warn("{}: {}", key(cluster), message);
      events.warning(cluster, EventReasons.LOGICAL_REPLICATION_FAILED, message);
    }
    if (!missing.isEmpty()) {
      LOG.info("{}: logicalReplication.tables not found in the database yet: {}", key(cluster), missing);
    }
    for (LogicalSubscriptionStatus s : now.subscriptions) {
      LogicalSubscriptionStatus was = before == null ? null
          : before.subscriptions.stream().filter(b -> b.name.equals(s.name)).findFirst().orElse(null);
      boolean changed = was == null || !Objects.equals(was.state, s.state) || !Objects.equals(was.message, s.message);
      if (!changed) {
        continue;
      }
      if ("failed".equals(s.state)) {
        LOG.warn("{}: subscription {} not created: {}", key(cluster), s.name, s.message);
        events.warning(cluster, EventReasons.LOGICAL_REPLICATION_FAILED, s.message);
      } else if ("replicating".equals(s.state)) {
        LOG.info("{}: subscription {} replicating", key(cluster), s.name);
        events.normal(cluster, EventReasons.SUBSCRIPTION_REPLICATING, "subscription " + s.name + " replicating");
      } else if ("down".equals(s.state) && was != null && "replicating".equals(was.state)) {
        // Only a subscription that was replicating goes down: a new one reads down until its worker starts.
        LOG.warn("{}: subscription {} down", key(cluster), s.name);
        events.warning(cluster, EventReasons.SUBSCRIPTION_DOWN, "subscription " + s.name + " down: pglogical's apply"
            + " worker stopped (the provider unreachable, or a conflict with conflictResolution error); it retries");
      }
    }
  }

  private void updated(PgCluster cluster, String message) {
    LOG.info("{}: {}", key(cluster), message);
    events.normal(cluster, EventReasons.LOGICAL_REPLICATION_UPDATED, message);
  }

  private static String credentialsProblem(LogicalSubscriptionSpec s, Secret secret) {
    String field = "logicalReplication.subscriptions[" + s.name + "].credentials";
    if (secret == null) {
      return field + ": Secret " + s.credentials.secret + " not found";
    }
    for (String key : List.of("username", "password")) {
      if (SecretValues.value(secret, key).map(String::isEmpty).orElse(true)) {
        return field + ": Secret " + s.credentials.secret + " has no key " + key;
      }
    }
    return null;
  }

  private static String key(PgCluster cluster) {
    return cluster.getMetadata().getNamespace() + "/" + cluster.getMetadata().getName();
  }
}
