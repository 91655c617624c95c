package dev.pgcluster.operator.reconcile;

import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.operator.api.v1alpha1.RoleSpec;
import dev.pgcluster.operator.api.v1alpha1.RoleStatus;
import dev.pgcluster.operator.ha.ClusterState;
import dev.pgcluster.operator.ha.InstanceState;
import dev.pgcluster.operator.naming.PgClusterNames;
import dev.pgcluster.operator.observe.Credentials;
import dev.pgcluster.operator.observe.SecretValues;
import dev.pgcluster.operator.postgres.PoolerSql;
import dev.pgcluster.operator.postgres.PostgresConnector;
import dev.pgcluster.operator.roles.RolePlan;
import dev.pgcluster.operator.roles.RoleSql;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the primary's roles as spec.roles declares them (RolePlan decides, RoleSql acts), after the
 * failover's steps, never before them. Never throws: a role that cannot be made is reported in
 * status.roles and as a Warning event, and the other roles and the cluster go on.
 *
 * <p>A pass connects to the primary when what it would do may have changed (the roles declared, a
 * password Secret, the primary) and otherwise once a minute, which puts back the attributes and
 * memberships of a role edited by hand, and a role dropped by hand (with its password). A password is
 * set when its Secret changes or the role is created, and again after an operator restart (the same
 * password: no change for clients); one changed by hand in the database is not put back.
 */
final class RoleManager {
  private static final Logger LOG = LoggerFactory.getLogger(RoleManager.class);
  static final Duration RECHECK = Duration.ofMinutes(1);

  private final KubernetesClient client;
  private final PostgresConnector connector;
  private final Credentials credentials;
  private final EventRecorder events;
  private final Clock clock;
  /** Per cluster: what the last complete pass was made from, when, and what it found. */
  private final Map<String, Pass> passes = new ConcurrentHashMap<>();
  /** Per cluster and role: the password Secret's resourceVersion last set. */
  private final Map<String, String> passwordsSet = new ConcurrentHashMap<>();

  private record Pass(String fingerprint, Instant at, List<RoleStatus> status) {}

  RoleManager(KubernetesClient client, PostgresConnector connector, Credentials credentials, EventRecorder events,
      Clock clock) {
    this.client = client;
    this.connector = connector;
    this.credentials = credentials;
    this.events = events;
    this.clock = clock;
  }

  /** The roles' status for the cluster's status: this operator's last pass, else what the status held. */
  List<RoleStatus> status(PgCluster cluster, List<RoleStatus> previous) {
    Pass pass = passes.get(key(cluster));
    List<RoleStatus> out = pass != null ? pass.status() : previous;
    return out == null || out.isEmpty() ? null : out;
  }

  void forget(String namespace, String name) {
    passes.remove(namespace + "/" + name);
    passwordsSet.keySet().removeIf(k -> k.startsWith(namespace + "/" + name + "/"));
  }

  /** One pass when one is due; never throws (a failure is logged, the next reconcile tries again). */
  void apply(PgCluster cluster, ClusterState state) {
    try {
      applyOrThrow(cluster, state);
    } catch (RuntimeException e) {
      LOG.warn("roles of {} not reconciled: {}", key(cluster), e.toString());
    }
  }

  private void applyOrThrow(PgCluster cluster, ClusterState state) {
    List<RoleSpec> declared = cluster.getSpec().roles == null ? List.of() : cluster.getSpec().roles;
    Pass last = passes.get(key(cluster));
    boolean hadRoles = last != null ? !last.status().isEmpty()
        : cluster.getStatus() != null && cluster.getStatus().roles != null && !cluster.getStatus().roles.isEmpty();
    if (declared.isEmpty() && !hadRoles) {
      return;
    }
    Optional<InstanceState> primary = state.healthyPrimary();
    if (primary.isEmpty()) {
      return;
    }
    Map<String, Secret> secrets = new java.util.TreeMap<>();
    StringBuilder fingerprint = new StringBuilder(primary.get().name()).append('|').append(primary.get().podUid());
    for (var entry : RolePlan.passwords(declared).entrySet()) {
      Secret secret = client.secrets().inNamespace(cluster.getMetadata().getNamespace()).withName(entry.getValue().name)
          .get();
      secrets.put(entry.getKey(), secret);
      fingerprint.append('|').append(entry.getKey()).append('=')
          .append(secret == null ? "-" : secret.getMetadata().getResourceVersion());
    }
    fingerprint.append('|').append(client.getKubernetesSerialization().asJson(declared));
    if (last != null && last.fingerprint().contentEquals(fingerprint)
        && Duration.between(last.at(), clock.instant()).compareTo(RECHECK) < 0) {
      return;
    }
    String superuser = credentials.superuserPassword(cluster).orElse(null);
    if (superuser == null) {
      return;
    }
    try (Connection c = connector.connect(primary.get().podIp(), PgClusterNames.POSTGRES_PORT, PgClusterNames.SUPERUSER,
        superuser)) {
      if (!PoolerSql.takesWrites(c)) {
        return;  // a primary that has just started is read-only until its agent renews the Lease
      }
      // What an earlier leader reported counts too: its events are not repeated.
      List<RoleStatus> before = last != null ? last.status()
          : cluster.getStatus() == null || cluster.getStatus().roles == null ? List.of() : cluster.getStatus().roles;
      List<RoleStatus> status = pass(cluster, c, declared, secrets, before);
      passes.put(key(cluster), new Pass(fingerprint.toString(), clock.instant(), status));
    } catch (SQLException e) {
      LOG.info("roles of {} not checked on {} yet: {}", key(cluster), primary.get().name(), e.getMessage());
    }
  }

  private List<RoleStatus> pass(PgCluster cluster, Connection c, List<RoleSpec> declared, Map<String, Secret> secrets,
      List<RoleStatus> before) throws SQLException {
    Map<String, RolePlan.ObservedRole> observed = RoleSql.roles(c);
    RolePlan.Plan plan = RolePlan.plan(declared, observed, observed.keySet());
    List<RoleStatus> status = new ArrayList<>();
    for (RolePlan.RoleSteps steps : plan.roles()) {
      // A password that cannot be read: nothing is done to the role (not created without it).
      String problem = steps.problem() != null ? steps.problem() : passwordProblem(steps.role(), declared, secrets);
      boolean changed = false;
      if (problem == null) {
        try {
          if (!observed.containsKey(steps.role()) || steps.ensure() == RoleSpec.Ensure.ABSENT) {
            // Created now (again, maybe: dropped by hand or declared absent before): its password too.
            passwordsSet.remove(key(cluster) + "/" + steps.role());
          }
          RoleSql.run(c, steps.statements());
          changed = !steps.statements().isEmpty();
          if (steps.ensure() == RoleSpec.Ensure.PRESENT) {
            changed |= setPassword(cluster, c, steps.role(), declared, secrets);
          }
        } catch (SQLException e) {
          problem = "spec.roles[" + steps.role() + "]: " + e.getMessage();
        }
      }
      String state = problem != null ? "failed" : steps.ensure() == RoleSpec.Ensure.ABSENT ? "absent" : "present";
      RoleStatus now = new RoleStatus(steps.role(), state, problem);
      status.add(now);
      RoleStatus was = before.stream().filter(r -> r.name.equals(steps.role())).findFirst().orElse(null);
      if (problem != null) {
        if (was == null || !problem.equals(was.message)) {
          LOG.warn("{}: role {} not as declared: {}", key(cluster), steps.role(), problem);
          events.warning(cluster, EventReasons.ROLE_FAILED, problem);
        }
      } else if (changed) {
        String what = steps.ensure() == RoleSpec.Ensure.ABSENT ? "dropped" : observed.containsKey(steps.role())
            ? "updated" : "created";
        LOG.info("{}: role {} {} as declared", key(cluster), steps.role(), what);
        events.normal(cluster, EventReasons.ROLE_UPDATED, "role " + steps.role() + " " + what + " as spec.roles declares");
      }
    }
    for (String kept : plan.undeclared()) {
      String message = "no longer in spec.roles; kept (declare it with ensure: absent to drop it)";
      status.add(new RoleStatus(kept, "kept", message));
      if (before.stream().noneMatch(r -> r.name.equals(kept) && "kept".equals(r.state))) {
        LOG.info("{}: role {} {}", key(cluster), kept, message);
        events.normal(cluster, EventReasons.ROLE_KEPT, "role " + kept + " " + message);
      }
    }
    return status;
  }

  /** Why the role's declared password cannot be read, or null (none declared, or readable). */
  private static String passwordProblem(String role, List<RoleSpec> declared, Map<String, Secret> secrets) {
    RoleSpec.PasswordSecret ref = RolePlan.passwords(declared).get(role);
    if (ref == null) {
      return null;
    }
    Secret secret = secrets.get(role);
    if (secret == null) {
      return "spec.roles[" + role + "].passwordSecret: Secret " + ref.name + " not found";
    }
    Optional<String> password = SecretValues.value(secret, ref.key);
    if (password.isEmpty() || password.get().isEmpty()) {
      return "spec.roles[" + role + "].passwordSecret: Secret " + ref.name + " has no key " + ref.key;
    }
    return null;
  }

  /**
   * Sets the role's password when its Secret changed since it was last set here (checked readable by
   * {@link #passwordProblem}). Returns whether that was a change this operator saw: after its restart
   * the password is set again (the same one, most likely), not reported.
   */
  private boolean setPassword(PgCluster cluster, Connection c, String role, List<RoleSpec> declared,
      Map<String, Secret> secrets) throws SQLException {
    RoleSpec.PasswordSecret ref = RolePlan.passwords(declared).get(role);
    if (ref == null) {
      return false;
    }
    Secret secret = secrets.get(role);
    String setKey = key(cluster) + "/" + role;
    String version = secret.getMetadata().getUid() + "/" + secret.getMetadata().getResourceVersion() + "/" + ref.key;
    String known = passwordsSet.get(setKey);
    if (version.equals(known)) {
      return false;
    }
    RoleSql.setPassword(c, role, SecretValues.value(secret, ref.key).orElseThrow());
    passwordsSet.put(setKey, version);
    return known != null;
  }

  private static String key(PgCluster cluster) {
    return cluster.getMetadata().getNamespace() + "/" + cluster.getMetadata().getName();
  }
}
