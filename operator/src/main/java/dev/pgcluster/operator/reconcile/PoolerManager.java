package dev.pgcluster.operator.reconcile;

import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.operator.api.v1alpha1.PoolerSpec;
import dev.pgcluster.operator.ha.ClusterState;
import dev.pgcluster.operator.ha.InstanceState;
import dev.pgcluster.operator.naming.PgClusterNames;
import dev.pgcluster.operator.observe.Credentials;
import dev.pgcluster.operator.postgres.PgBouncerConsole;
import dev.pgcluster.operator.postgres.PoolerSql;
import dev.pgcluster.operator.postgres.PostgresConnector;
import dev.pgcluster.operator.render.PoolerRenderer;
import dev.pgcluster.operator.render.PoolerRenderer.Target;
import dev.pgcluster.operator.render.SecretRenderer;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The pooler (spec.pooler), act side: its objects, its role in the database, and holding its clients
 * while the primary moves. A hold is recorded on the Deployment before any pod is told, so an operator
 * restarted mid-move still releases it.
 */
public final class PoolerManager implements PoolerHold {
  private static final Logger LOG = LoggerFactory.getLogger(PoolerManager.class);
  /** On the pooler's Deployment while its pods hold clients: when and why. */
  public static final String HELD = "pgcluster.dev/pooler-held";
  /** A hold never lasts longer than this: past it, clients get errors rather than wait on. */
  static final Duration LONGEST_HOLD = Duration.ofSeconds(60);
  /** How long a console command may take; a PAUSE that takes longer gives way to a KILL. */
  static final Duration CONSOLE_TIMEOUT = Duration.ofSeconds(5);

  private final KubernetesClient client;
  private final ResourceApplier applier;
  private final PostgresConnector connector;
  private final Credentials credentials;
  private final EventRecorder events;
  private final Clock clock;
  private final SecureRandom random = new SecureRandom();
  /** Clusters (uid and pooler password) whose role and lookup function this process has set up. */
  private final Set<String> authReady = ConcurrentHashMap.newKeySet();

  /** How often the pooler pods' statistics are read for the metrics. */
  static final Duration STATS_PERIOD = Duration.ofSeconds(10);
  private final dev.pgcluster.operator.metrics.PgClusterMetrics metrics;
  /** When each cluster's pooler statistics were last read. */
  private final Map<String, Instant> statsReadAt = new ConcurrentHashMap<>();
  private final Map<String, Map<String, PoolerSql.PoolerStats>> lastStats = new ConcurrentHashMap<>();

  public PoolerManager(KubernetesClient client, ResourceApplier applier, PostgresConnector connector,
      Credentials credentials, EventRecorder events, dev.pgcluster.operator.metrics.PgClusterMetrics metrics,
      Clock clock) {
    this.metrics = metrics;
    this.client = client;
    this.applier = applier;
    this.connector = connector;
    this.credentials = credentials;
    this.events = events;
    this.clock = clock;
  }

  /**
   * The pooler's Secret, ConfigMap, Deployment and Service; without spec.pooler, its owned objects go.
   * Never throws: what the API server refuses (resources it finds invalid, say) is logged and recorded
   * as an event once, and the instances' high availability goes on.
   */
  public void apply(PgCluster cluster) {
    try {
      if (!PoolerSpec.enabled(cluster.getSpec())) {
        remove(cluster);
        return;
      }
      applier.createIfAbsent(PoolerRenderer.secret(cluster, random));
      // The password's hash on the pod template: a changed password rolls the pods, which read it at start.
      String password = poolerPassword(cluster);
      String credentialsHash = password == null ? "" : PoolerRenderer.hash(password);
      for (Target target : Target.values()) {
        if (target == Target.READ_ONLY && cluster.getSpec().pooler.readOnlyInstances() == 0) {
          removeReadOnly(cluster);
          continue;
        }
        applier.apply(PoolerRenderer.configMap(cluster, target), OwnedFields::configMap);
        Deployment desired = PoolerRenderer.deployment(cluster, credentialsHash, target);
        if (applier.apply(desired, OwnedFields::deployment) == ResourceApplier.Outcome.UPDATED) {
          events.normal(cluster, EventReasons.POOLER_UPDATED, "Deployment " + desired.getMetadata().getName()
              + " updated: " + desired.getSpec().getReplicas() + " PgBouncer pods, pool_mode "
              + cluster.getSpec().pooler.poolMode.value());
        }
        applier.apply(PoolerRenderer.service(cluster, target), OwnedFields::service);
      }
      applyFailures.remove(key(cluster));
    } catch (RuntimeException e) {
      String message = "the pooler's objects could not be applied: " + e.getMessage();
      if (!message.equals(applyFailures.put(key(cluster), message))) {
        LOG.warn("{}", message);
        events.warning(cluster, EventReasons.POOLER_FAILED, message);
      }
    }
  }

  /** The last failure to apply each cluster's pooler, so that it is reported once, not every reconcile. */
  private final Map<String, String> applyFailures = new ConcurrentHashMap<>();

  /**
   * Removes what the pooler left when spec.pooler is taken out; its Secret is kept like the others.
   * One LIST of the cluster's pooler Deployments per reconcile; each Deployment goes last, so that
   * while it is there, what it needs may be left.
   */
  private void remove(PgCluster cluster) {
    for (Deployment d : poolerDeployments(cluster)) {
      boolean readOnly = d.getMetadata().getName().equals(Target.READ_ONLY.name(PgClusterNames.of(cluster)));
      removeObjects(cluster, readOnly ? Target.READ_ONLY : Target.READ_WRITE, d);
    }
  }

  /** The read-only pooler, when spec.pooler.readOnlyInstances is 0. */
  private void removeReadOnly(PgCluster cluster) {
    String ns = cluster.getMetadata().getNamespace();
    Deployment deployment = client.apps().deployments().inNamespace(ns)
        .withName(Target.READ_ONLY.name(PgClusterNames.of(cluster))).get();
    if (ownedBy(cluster, deployment)) {
      removeObjects(cluster, Target.READ_ONLY, deployment);
    }
  }

  private List<Deployment> poolerDeployments(PgCluster cluster) {
    PgClusterNames names = PgClusterNames.of(cluster);
    Set<String> ours = Set.of(Target.READ_WRITE.name(names), Target.READ_ONLY.name(names));
    return client.apps().deployments().inNamespace(cluster.getMetadata().getNamespace())
        .withLabel(dev.pgcluster.operator.render.Labels.INSTANCE, cluster.getMetadata().getName()).list().getItems()
        .stream().filter(d -> ours.contains(d.getMetadata().getName()) && ownedBy(cluster, d)).toList();
  }

  private void removeObjects(PgCluster cluster, Target target, Deployment deployment) {
    String ns = cluster.getMetadata().getNamespace();
    PgClusterNames names = PgClusterNames.of(cluster);
    String service = target == Target.READ_WRITE ? names.poolerService() : names.poolerReadOnly();
    deleteIfOwned(cluster, client.services().inNamespace(ns).withName(service).get());
    deleteIfOwned(cluster, client.configMaps().inNamespace(ns).withName(target.name(names)).get());
    deleteIfOwned(cluster, deployment);
    events.normal(cluster, EventReasons.POOLER_REMOVED, (target == Target.READ_WRITE ? "the pooler's" : "the read-only"
        + " pooler's") + " Deployment " + deployment.getMetadata().getName() + ", its Service and ConfigMap deleted"
        + (PoolerSpec.enabled(cluster.getSpec()) ? " (spec.pooler.readOnlyInstances is 0)" : " (spec.pooler removed)"));
  }

  private static boolean ownedBy(PgCluster cluster, HasMetadata object) {
    return object != null && object.getMetadata().getOwnerReferences() != null && object.getMetadata()
        .getOwnerReferences().stream().anyMatch(o -> Objects.equals(o.getUid(), cluster.getMetadata().getUid()));
  }

  private void deleteIfOwned(PgCluster cluster, HasMetadata object) {
    if (ownedBy(cluster, object)) {
      client.resource(object).delete();
      LOG.info("deleted {} {} (no longer in spec.pooler)", object.getKind(), object.getMetadata().getName());
    }
  }

  /**
   * After acting: the pooler's role and lookup function on a writable primary (once per operator
   * process and password), and the end of a hold once -rw routes to the new primary.
   *
   * @param moved the primary moved in this reconcile: what was observed before describes the former
   *     primary, so a hold is not judged on it (the next reconcile observes anew)
   */
  public boolean afterActing(PgCluster cluster, ClusterState state, boolean moved) {
    try {
      return afterActingOrThrow(cluster, state, moved);
    } catch (RuntimeException e) {
      LOG.warn("pooler: {}; trying again on the next reconcile", e.getMessage());
      return PoolerSpec.enabled(cluster.getSpec());
    }
  }

  private boolean afterActingOrThrow(PgCluster cluster, ClusterState state, boolean moved) {
    if (!PoolerSpec.enabled(cluster.getSpec())) {
      lastStats.remove(key(cluster));
      if (statsReadAt.remove(key(cluster)) != null) {
        metrics.poolers(cluster, Map.of());
      }
      return false;
    }
    if (moved) {
      return true;
    }
    readStats(cluster);
    state.healthyPrimary().filter(p -> p.name().equals(state.primary().holder()))
        .ifPresent(primary -> ensureAuth(cluster, primary));
    return releaseWhenRouted(cluster, state);
  }

  /** At most every STATS_PERIOD: SHOW POOLS and SHOW STATS of each pooler pod, for the metrics. */
  void readStats(PgCluster cluster) {
    Instant last = statsReadAt.get(key(cluster));
    Instant now = clock.instant();
    if (last != null && Duration.between(last, now).compareTo(STATS_PERIOD) < 0) {
      return;
    }
    statsReadAt.put(key(cluster), now);
    Map<String, PoolerSql.PoolerStats> byPod = new ConcurrentHashMap<>();
    eachPod(cluster, List.of(Target.values()), pod -> {
      try (PgBouncerConsole admin = admin(cluster, pod)) {
        byPod.put(pod.getMetadata().getName(), PoolerSql.stats(admin));
      } catch (SQLException | RuntimeException e) {
        // Its last figures stay: a series must not come and go with one missed read.
        PoolerSql.PoolerStats before = lastStats.getOrDefault(key(cluster), Map.of()).get(pod.getMetadata().getName());
        if (before != null) {
          byPod.put(pod.getMetadata().getName(), before);
        }
        LOG.debug("no statistics from pooler {}: {}", pod.getMetadata().getName(), e.getMessage());
      }
    });
    lastStats.put(key(cluster), byPod);
    metrics.poolers(cluster, byPod);
  }

  private static String key(PgCluster cluster) {
    return cluster.getMetadata().getNamespace() + "/" + cluster.getMetadata().getName();
  }

  void ensureAuth(PgCluster cluster, InstanceState primary) {
    String password = poolerPassword(cluster);
    if (password == null) {
      return;
    }
    String key = cluster.getMetadata().getUid() + "/" + Integer.toHexString(password.hashCode());
    if (authReady.contains(key)) {
      return;
    }
    String superuser = credentials.superuserPassword(cluster).orElse(null);
    if (superuser == null) {
      return;
    }
    try {
      List<String> databases;
      try (Connection c = connector.connect(primary.podIp(), PgClusterNames.POSTGRES_PORT, PgClusterNames.SUPERUSER,
          superuser)) {
        if (!PoolerSql.takesWrites(c)) {
          // A primary that has just started refuses writes until its agent renews the Lease.
          return;
        }
        PoolerSql.ensureRole(c, password);
        databases = PoolerSql.databases(c);
      }
      for (String db : databases) {
        try (Connection c = connector.connect(primary.podIp(), PgClusterNames.POSTGRES_PORT, db, PgClusterNames.SUPERUSER,
            superuser)) {
          PoolerSql.ensureLookup(c);
        }
      }
      authReady.add(key);
      LOG.info("pooler role {} and its password lookup set up on {} in {}", PgClusterNames.POOLER_USER, primary.name(),
          databases);
    } catch (SQLException e) {
      // A primary that has just started refuses writes until its agent renews the Lease: next reconcile.
      LOG.info("pooler role not set up on {} yet: {}", primary.name(), e.getMessage());
    }
  }

  private String poolerPassword(PgCluster cluster) {
    Secret secret = client.secrets().inNamespace(cluster.getMetadata().getNamespace())
        .withName(PgClusterNames.of(cluster).pooler()).get();
    return dev.pgcluster.operator.observe.SecretValues.value(secret, SecretRenderer.PASSWORD).orElse(null);
  }

  @Override
  public void pause(PgCluster cluster, String why) {
    hold(cluster, true, why);
  }

  @Override
  public void disconnect(PgCluster cluster, String why) {
    hold(cluster, false, why);
  }

  /**
   * graceful: PAUSE (transaction and statement pools: the queries in flight finish, new ones wait);
   * in session mode, or when PAUSE does not finish in time, KILL (every pooled connection dropped, new
   * ones wait). Either way no pooled connection goes on talking to the former primary.
   */
  private void hold(PgCluster cluster, boolean graceful, String why) {
    if (!PoolerSpec.enabled(cluster.getSpec())) {
      return;
    }
    try {
      holdOrThrow(cluster, graceful, why);
    } catch (RuntimeException e) {
      // Never between a change of primary and the fence that follows it.
      LOG.warn("could not hold the pooler's clients ({}): its connections to the former primary end with it",
          e.getMessage());
    }
  }

  private void holdOrThrow(PgCluster cluster, boolean graceful, String why) {
    String ns = cluster.getMetadata().getNamespace();
    String name = PgClusterNames.of(cluster).pooler();
    try {
      client.apps().deployments().inNamespace(ns).withName(name).patch(PatchContext.of(PatchType.JSON_MERGE),
          "{\"metadata\":{\"annotations\":{\"" + HELD + "\":\"" + clock.instant() + "\"}}}");
    } catch (KubernetesClientException e) {
      LOG.warn("could not record the pooler hold on Deployment {} ({}): not holding its clients", name, e.getMessage());
      return;
    }
    boolean pause = graceful && cluster.getSpec().pooler.poolMode != dev.pgcluster.operator.api.v1alpha1.PoolMode.SESSION;
    eachPod(cluster, pod -> {
      try {
        if (pause) {
          try (PgBouncerConsole admin = admin(cluster, pod)) {
            PoolerSql.pause(admin);
            LOG.info("pooler {} paused: {}", pod.getMetadata().getName(), why);
            return;
          } catch (SQLException e) {
            LOG.info("pooler {} did not pause in time ({}): dropping its connections instead", pod.getMetadata().getName(),
                e.getMessage());
          }
        }
        try (PgBouncerConsole admin = admin(cluster, pod)) {
          PoolerSql.killAll(admin);
        }
        LOG.info("pooler {}: pooled connections dropped, new ones wait: {}", pod.getMetadata().getName(), why);
      } catch (SQLException | RuntimeException e) {
        LOG.warn("could not hold the clients of pooler {} ({}); its connections to the former primary end with it",
            pod.getMetadata().getName(), e.getMessage());
      }
    });
    // The read-only pooler is not held (reads go on), but none of its server connections may stay on
    // the standby being promoted: each closes once its client releases it and reopens through -ro.
    eachPod(cluster, List.of(Target.READ_ONLY), pod -> {
      try (PgBouncerConsole admin = admin(cluster, pod)) {
        PoolerSql.reconnect(admin);
        LOG.info("read-only pooler {}: server connections reopen through -ro: {}", pod.getMetadata().getName(), why);
      } catch (SQLException | RuntimeException e) {
        LOG.warn("could not have read-only pooler {} reconnect ({})", pod.getMetadata().getName(), e.getMessage());
      }
    });
  }

  @Override
  public void release(PgCluster cluster, String why) {
    if (!PoolerSpec.enabled(cluster.getSpec())) {
      return;
    }
    Deployment deployment = deployment(cluster);
    if (deployment != null && held(deployment) != null) {
      resumeAll(cluster, why);
    }
  }

  /**
   * Ends a hold once the -rw Service routes only to the healthy primary, or once it has lasted too long.
   * Returns whether the pooler still holds its clients.
   */
  boolean releaseWhenRouted(PgCluster cluster, ClusterState state) {
    Deployment deployment = deployment(cluster);
    Instant since = deployment == null ? null : held(deployment);
    if (since == null) {
      return false;
    }
    Duration held = Duration.between(since, clock.instant());
    var primary = state.healthyPrimary().filter(p -> p.name().equals(state.primary().holder()));
    if (primary.isPresent() && routedTo(cluster, primary.get().podIp()) && takesWrites(cluster, primary.get())) {
      return !resumeAll(cluster, "-rw routes to " + primary.get().name() + " (held " + held.toMillis() + " ms)");
    } else if (held.compareTo(LONGEST_HOLD) >= 0) {
      LOG.warn("pooler held for {} s and -rw does not route to a healthy primary yet: clients are let through",
          held.toSeconds());
      return !resumeAll(cluster, "held " + held.toSeconds() + " s, the longest hold");
    }
    return true;
  }

  /** Returns whether every pooler pod was resumed (and the hold's record removed). */
  private boolean resumeAll(PgCluster cluster, String why) {
    java.util.concurrent.atomic.AtomicInteger failures = new java.util.concurrent.atomic.AtomicInteger();
    boolean finished = eachPod(cluster, pod -> {
      try (PgBouncerConsole admin = admin(cluster, pod)) {
        if (PoolerSql.resume(admin) > 0) {
          LOG.info("pooler {} resumed: {}", pod.getMetadata().getName(), why);
        }
      } catch (SQLException | RuntimeException e) {
        failures.incrementAndGet();
        LOG.warn("could not resume pooler {} ({}); trying again on the next reconcile", pod.getMetadata().getName(),
            e.getMessage());
      }
    });
    int failed = finished ? failures.get() : failures.get() + 1;
    if (failed == 0) {
      client.apps().deployments().inNamespace(cluster.getMetadata().getNamespace())
          .withName(PgClusterNames.of(cluster).pooler()).patch(PatchContext.of(PatchType.JSON_MERGE),
              "{\"metadata\":{\"annotations\":{\"" + HELD + "\":null}}}");
      events.normal(cluster, EventReasons.POOLER_RESUMED, "pooler clients let through: " + why);
    }
    return failed == 0;
  }

  /**
   * Whether new sessions on the primary may write: a promoted standby stays read-only until its agent
   * has renewed the primary Lease; clients let through before that would fail.
   */
  private boolean takesWrites(PgCluster cluster, InstanceState primary) {
    String superuser = credentials.superuserPassword(cluster).orElse(null);
    if (superuser == null) {
      return false;
    }
    try (Connection c = connector.connect(primary.podIp(), PgClusterNames.POSTGRES_PORT, PgClusterNames.SUPERUSER,
        superuser)) {
      return PoolerSql.takesWrites(c);
    } catch (SQLException e) {
      return false;
    }
  }

  /** Whether the -rw Service's endpoints are the primary's address and nothing else. */
  boolean routedTo(PgCluster cluster, String podIp) {
    var slices = client.discovery().v1().endpointSlices().inNamespace(cluster.getMetadata().getNamespace())
        .withLabel("kubernetes.io/service-name", PgClusterNames.of(cluster).readWriteService()).list().getItems();
    Set<String> ready = new java.util.TreeSet<>();
    String family = podIp.contains(":") ? "IPv6" : "IPv4";  // a dual-stack Service has a slice per family
    slices.stream().filter(s -> s.getAddressType() == null || family.equals(s.getAddressType())).forEach(s -> {
      if (s.getEndpoints() != null) {
        s.getEndpoints().stream().filter(e -> e.getConditions() == null || !Boolean.FALSE.equals(e.getConditions().getReady()))
            .forEach(e -> ready.addAll(e.getAddresses()));
      }
    });
    return ready.equals(Set.of(podIp));
  }

  private Deployment deployment(PgCluster cluster) {
    return client.apps().deployments().inNamespace(cluster.getMetadata().getNamespace())
        .withName(PgClusterNames.of(cluster).pooler()).get();
  }

  private static Instant held(Deployment deployment) {
    Map<String, String> annotations = deployment.getMetadata().getAnnotations();
    String value = annotations == null ? null : annotations.get(HELD);
    try {
      return value == null ? null : Instant.parse(value);
    } catch (java.time.format.DateTimeParseException e) {
      return Instant.EPOCH;  // unreadable: treat as long held, so it is released
    }
  }

  private List<Pod> poolerPods(PgCluster cluster, Target target) {
    return client.pods().inNamespace(cluster.getMetadata().getNamespace())
        .withLabels(PoolerRenderer.podSelector(cluster, target)).list().getItems().stream()
        .filter(p -> p.getStatus() != null && p.getStatus().getPodIP() != null && p.getMetadata().getDeletionTimestamp() == null
            && "Running".equals(p.getStatus().getPhase()))
        .toList();
  }

  /** Console sessions with a pooler's pods run side by side: a pod that does not answer costs its timeout once. */
  private static final java.util.concurrent.ExecutorService CONSOLES = java.util.concurrent.Executors.newCachedThreadPool(
      r -> {
        Thread t = new Thread(r, "pooler-console");
        t.setDaemon(true);
        return t;
      });

  /**
   * Runs {@code action} on each running pod of the -rw pooler in parallel (the one held while the primary
   * moves); false when one did not finish in time.
   */
  private boolean eachPod(PgCluster cluster, java.util.function.Consumer<Pod> action) {
    return eachPod(cluster, List.of(Target.READ_WRITE), action);
  }

  private boolean eachPod(PgCluster cluster, List<Target> targets, java.util.function.Consumer<Pod> action) {
    List<Pod> pods = targets.stream().filter(t -> t == Target.READ_WRITE || cluster.getSpec().pooler.readOnlyInstances() > 0)
        .flatMap(t -> poolerPods(cluster, t).stream()).toList();
    List<java.util.concurrent.Future<?>> running = pods.stream()
        .<java.util.concurrent.Future<?>>map(pod -> CONSOLES.submit(() -> action.accept(pod))).toList();
    long deadline = System.nanoTime() + CONSOLE_TIMEOUT.multipliedBy(3).toNanos();
    boolean finished = true;
    for (java.util.concurrent.Future<?> f : running) {
      try {
        f.get(Math.max(0, deadline - System.nanoTime()), java.util.concurrent.TimeUnit.NANOSECONDS);
      } catch (java.util.concurrent.TimeoutException e) {
        f.cancel(true);
        finished = false;
      } catch (java.util.concurrent.ExecutionException e) {
        finished = false;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }
    return finished;
  }

  private PgBouncerConsole admin(PgCluster cluster, Pod pod) throws SQLException {
    String password = poolerPassword(cluster);
    if (password == null) {
      throw new SQLException("the pooler Secret " + PgClusterNames.of(cluster).pooler() + " has no password");
    }
    return PgBouncerConsole.open(pod.getStatus().getPodIP(), PgClusterNames.POOLER_PORT, PgClusterNames.POOLER_USER,
        password, CONSOLE_TIMEOUT);
  }
}
