package dev.pgcluster.operator.reconcile;

import dev.pgcluster.operator.api.v1alpha1.ClusterPhase;
import dev.pgcluster.operator.api.v1alpha1.PgBackup;
import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.operator.api.v1alpha1.PgClusterStatus;
import dev.pgcluster.operator.backup.CronSchedule;
import dev.pgcluster.operator.config.OperatorConfig;
import dev.pgcluster.operator.ha.Action;
import dev.pgcluster.operator.ha.ArchiveFacts;
import dev.pgcluster.operator.ha.ClusterState;
import dev.pgcluster.operator.ha.Decider;
import dev.pgcluster.operator.ha.GrantTimes;
import dev.pgcluster.operator.ha.GrantWatch;
import dev.pgcluster.operator.ha.InstanceState;
import dev.pgcluster.operator.ha.LeaseRecovery;
import dev.pgcluster.operator.ha.PrimaryFailureTracker;
import dev.pgcluster.operator.ha.PrimaryRecord;
import dev.pgcluster.operator.ha.Rollout;
import dev.pgcluster.operator.lease.LeaseConflictException;
import dev.pgcluster.operator.lease.PrimaryLease;
import dev.pgcluster.operator.metrics.PgClusterMetrics;
import dev.pgcluster.operator.naming.PgClusterNames;
import dev.pgcluster.operator.observe.ClusterObserver;
import dev.pgcluster.operator.observe.Credentials;
import dev.pgcluster.operator.observe.FencedInstances;
import dev.pgcluster.operator.observe.GrantSweep;
import dev.pgcluster.operator.observe.HealthPoller;
import dev.pgcluster.operator.postgres.PostgresConnector;
import dev.pgcluster.operator.render.BackupRenderer;
import dev.pgcluster.operator.render.ConfigMapRenderer;
import dev.pgcluster.operator.render.InstanceRbacRenderer;
import dev.pgcluster.operator.render.Labels;
import dev.pgcluster.operator.render.Owned;
import dev.pgcluster.operator.render.PodDisruptionBudgetRenderer;
import dev.pgcluster.operator.render.PostgresConfig;
import dev.pgcluster.operator.render.SecretRenderer;
import dev.pgcluster.operator.render.ServiceRenderer;
import dev.pgcluster.operator.render.StatefulSetRenderer;
import dev.pgcluster.operator.status.ConditionTypes;
import dev.pgcluster.operator.status.ConditionTypes.Reasons;
import dev.pgcluster.operator.status.StatusAssembler;
import dev.pgcluster.operator.storage.VolumeGrowth;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.Mappers;
import io.javaoperatorsdk.operator.processing.retry.GradualRetry;
import java.security.SecureRandom;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reconciles one PgCluster: validate, render and apply the objects, observe the instances, decide,
 * act, report. Each step is one method below, in the order it runs.
 */
/*
 * Unexpected errors (the API server unreachable, a SQL failure while acting) are retried without an
 * attempt limit, backing off to 10 s: an HA controller must not give up on a cluster.
 */
// Not generation-aware alone: annotation changes (a fence, a restart) are reconciled at once too.
@ControllerConfiguration(name = PgClusterReconciler.NAME, generationAwareEventProcessing = false,
    informer = @io.javaoperatorsdk.operator.api.config.informer.Informer(onUpdateFilter = SpecOrAnnotationsChanged.class))
@GradualRetry(maxAttempts = -1, initialInterval = 1000, intervalMultiplier = 1.5, maxInterval = 10_000)
public class PgClusterReconciler implements Reconciler<PgCluster> {
  public static final String NAME = "pgcluster";
  private static final Logger LOG = LoggerFactory.getLogger(PgClusterReconciler.class);

  private final KubernetesClient client;
  private final OperatorConfig config;
  private final ResourceApplier applier;
  private final PrimaryLease lease;
  private final ClusterObserver observer;
  private final Actuator actuator;
  private final EventRecorder events;
  private final TlsSecrets tlsSecrets;
  private final PgClusterMetrics metrics;
  private final PostgresConnector connector;
  private final SecureRandom random = new SecureRandom();
  private final PrimaryFailureTracker failures = new PrimaryFailureTracker();
  private final GrantWatch grants = new GrantWatch();
  private final Credentials credentials;
  private final GrantSweep sweep;
  private final PoolerManager pooler;
  private final RoleManager roles;
  private final LogicalReplicationManager logical;
  private final Clock clock;

  public PgClusterReconciler(KubernetesClient client, OperatorConfig config, PgClusterMetrics metrics, Clock clock) {
    this.client = client;
    this.config = config;
    this.metrics = metrics;
    this.clock = clock;
    this.connector = new PostgresConnector(config.sqlConnectTimeout(), config.sqlSocketTimeout());
    this.applier = new ResourceApplier(client);
    this.lease = new PrimaryLease(client, clock);
    this.events = new EventRecorder(client, config.identity());
    this.tlsSecrets = new TlsSecrets(client, events);
    this.credentials = new Credentials(client);
    this.sweep = new GrantSweep(client, grants, config.watchNamespaces());
    this.observer = new ClusterObserver(client, connector, credentials);
    this.pooler = new PoolerManager(client, applier, connector, credentials, events, metrics, clock);
    this.roles = new RoleManager(client, connector, credentials, events, clock);
    this.logical = new LogicalReplicationManager(client, connector, credentials, events, clock);
    this.actuator = new Actuator(client, connector, credentials, lease, events, metrics, pooler);
  }

  @Override
  public UpdateControl<PgCluster> reconcile(PgCluster cluster, Context<PgCluster> context) throws SQLException {
    sweep.start();  // only the leading operator reconciles, and only it needs to see renewals
    forgetAnEarlierIncarnation(cluster);
    List<String> problems = new java.util.ArrayList<>(SpecValidator.validate(cluster.getSpec()));
    if (problems.isEmpty()) {
      problems.addAll(SpecValidator.validateChange(lastValidSpec(cluster).orElse(null), cluster.getSpec()));
      problems.addAll(SpecValidator.validateBackup(cluster.getMetadata().getName(), cluster.getSpec()));
      problems.addAll(backupSecretProblems(cluster));
      problems.addAll(tlsSecretProblems(cluster));
      problems.addAll(SpecValidator.validatePooler(cluster.getMetadata().getName(), cluster.getSpec()));
      String fence = FencedInstances.parse(cluster).problem();
      if (fence != null) {
        problems.add(fence);
      }
    }
    if (!problems.isEmpty()) {
      return keepAliveWithLastValidSpec(cluster, problems);
    }
    ensureSecrets(cluster);
    tlsSecrets.apply(cluster, clock.instant());
    PrimaryRecord primary;
    long primaryReadAt;
    try {
      primary = ensurePrimaryLease(cluster);
      primaryReadAt = grants.now();
    } catch (PrimaryRecordMissingException e) {
      return awaitInstancesToRebuildTheRecord(cluster, e.getMessage());
    }
    applyConfigMaps(cluster, primary);
    applyServices(cluster);
    applyInstanceRbac(cluster);
    applyStatefulSet(cluster);
    applyPodDisruptionBudget(cluster);
    ClusterState state = observe(cluster, primary, primaryReadAt);
    boolean moved = false;
    boolean poolerHeld;
    VolumeGrowth.Status volumes;
    try {
      moved = act(cluster, state);
      if (moved) {
        // The primary changed: pods starting from now must see the new holder at once.
        applyConfigMaps(cluster, ensurePrimaryLease(cluster));
      }
    } finally {
      // Even when acting failed: a hold past its limit is released, whatever else went wrong; volumes
      // grow (a full disk may be why acting fails), after the failover's steps, never before them.
      poolerHeld = pooler.afterActing(cluster, state, moved);
      volumes = applyVolumeSizes(cluster);
    }
    // After acting: a pooler that cannot be applied (its resources refused, say) never delays a failover.
    pooler.apply(cluster);
    if (!moved) {
      // The primary observed is the one that takes the roles' statements; after a move, the next reconcile.
      roles.apply(cluster, state);
      logical.apply(cluster, state);
    }
    UpdateControl<PgCluster> control = reportStatus(cluster, state, volumes);
    if (poolerHeld && control.getScheduleDelay().map(d -> d > POOLER_HELD_RECHECK.toMillis()).orElse(true)) {
      // The pooler's clients wait until -rw routes to the new primary: look again soon.
      control.rescheduleAfter(POOLER_HELD_RECHECK);
    }
    return control;
  }

  /** Pods and SQL, plus how long the Lease holder has been failing. */
  ClusterState observe(PgCluster cluster, PrimaryRecord primary, long primaryReadAt) {
    ClusterState observed = observer.observe(cluster, primary);
    GrantWatch.Grant grant = grants.observe(key(cluster), primary,
        observed.instance(primary.holder()).filter(InstanceState::runningAsPrimary).isPresent(), primaryReadAt);
    ClusterState state = observed.withGrant(grant).withFencedByUser(FencedInstances.effective(cluster));
    state.instance(primary.holder()).filter(i -> i.runningAsPrimary() && grant.holderFenced()).ifPresent(i ->
        LOG.warn("primary {} runs but has not renewed its grant for {} ms (its agent fences at {} ms of a {} s lease):"
            + " its agent cannot reach the API server or is not running, so it refuses writes (or is about to)", i.name(),
            grant.silence().toMillis(), GrantTimes.fenceAfter(primary.leaseDuration()).toMillis(),
            primary.leaseDurationSeconds()));
    if (!grant.formerGrantLeft().isZero() && primary.promotedAt() == null && primary.epoch() > 0) {
      LOG.info("{} waits {} ms before its promotion: until then the former primary may still hold its grant",
          primary.holder(), grant.formerGrantLeft().toMillis());
    }
    boolean healthy = state.healthyPrimary().isPresent();
    boolean starting = !healthy && dev.pgcluster.operator.observe.PodStartup.starting(
        client.pods().inNamespace(cluster.getMetadata().getNamespace()).withName(primary.holder()).get(), clock.instant());
    if (starting) {
      LOG.info("primary {} is starting (its pod is not running PostgreSQL yet): not counted as a failure", primary.holder());
    }
    int failed = failures.observe(key(cluster), primary.holder(), primary.epoch(), healthy, starting,
        clock.instant(), Duration.ofSeconds(cluster.getSpec().failover.probePeriodSeconds));
    if (failed > 0 && primary.initialized()) {
      // Past the threshold, say why nothing happens when the failover is held (at 3 a.m. that is the question).
      String held = failed >= cluster.getSpec().failover.failureThreshold
          && dev.pgcluster.operator.ha.FailoverPolicy.decide(cluster.getSpec(), state, failed)
              instanceof dev.pgcluster.operator.ha.FailoverPolicy.Blocked blocked ? "; failover held: " + blocked.reason() : "";
      LOG.warn("primary {} not reachable as a primary ({} of {} failures before failover): {}{}", primary.holder(),
          failed, cluster.getSpec().failover.failureThreshold, state.instance(primary.holder())
              .map(i -> i.probeError() == null ? "running as a standby" : i.probeError()).orElse("no pod"), held);
    }
    java.util.Set<String> stuck = new java.util.TreeSet<>();
    java.util.Set<String> offTimeline = state.standbysOffTheTimeline();
    offStreamSince.keySet().removeIf(k -> k.startsWith(key(cluster) + "/")
        && !offTimeline.contains(k.substring(key(cluster).length() + 1)));
    for (String name : offTimeline) {
      Instant since = offStreamSince.computeIfAbsent(key(cluster) + "/" + name, k -> clock.instant());
      if (Duration.between(since, clock.instant()).compareTo(STUCK_AFTER) >= 0) {
        stuck.add(name);
        offStreamSince.remove(key(cluster) + "/" + name);
      }
    }
    ArchiveFacts archive = state.archive();
    Duration archiveFailing = Duration.ZERO;
    if (archive.failing()) {
      Instant since = archiveFailingSince.computeIfAbsent(key(cluster), k -> clock.instant());
      archiveFailing = Duration.between(since, clock.instant());
    } else {
      archiveFailingSince.remove(key(cluster));
    }
    return state.withPrimaryFailures(failed).withStuckStandbys(stuck).withArchive(archive.withFailingFor(archiveFailing));
  }

  /** Since when the primary's latest archive attempt has been a failure, per cluster. */
  private final java.util.Map<String, Instant> archiveFailingSince = new java.util.concurrent.ConcurrentHashMap<>();

  /**
   * The Secrets spec.backup names must exist with their keys: the pods read them at start, and a pod
   * that cannot would not start at all. Until they do, the last valid spec stays rendered.
   */
  /**
   * A user's server certificate (spec.tls.serverSecret) must be there, readable, unexpired, and cover
   * the -rw Service (standbys verify the primary by that name). Until it does, nothing is changed: the
   * instances keep serving with what they have.
   */
  List<String> tlsSecretProblems(PgCluster cluster) {
    if (!TlsSecrets.enabled(cluster) || cluster.getSpec().tls.serverSecret == null) {
      return List.of();
    }
    String name = cluster.getSpec().tls.serverSecret;
    String field = "spec.tls.serverSecret: Secret " + name;
    Secret secret = client.secrets().inNamespace(cluster.getMetadata().getNamespace()).withName(name).get();
    if (secret == null) {
      return List.of(field + " does not exist in namespace " + cluster.getMetadata().getNamespace());
    }
    List<String> problems = new java.util.ArrayList<>();
    for (String key : List.of("tls.crt", "tls.key", "ca.crt")) {
      if (!has(secret, key)) {
        problems.add(field + " has no key " + key);
      }
    }
    if (!problems.isEmpty()) {
      return problems;
    }
    String pem = TlsSecrets.value(secret, "tls.crt");
    try {
      java.time.Instant notAfter = dev.pgcluster.operator.tls.Certificates.notAfter(pem);
      if (!clock.instant().isBefore(notAfter)) {
        problems.add(field + ": the certificate expired at " + notAfter);
      }
      String rw = PgClusterNames.of(cluster).readWriteService();
      List<String> dns = dev.pgcluster.operator.tls.Certificates.dnsNames(pem);
      if (!dns.contains(rw)) {
        problems.add(field + ": the certificate does not name " + rw + " (it names " + String.join(", ", dns)
            + "); standbys verify the primary by that name");
      }
      String ro = PgClusterNames.of(cluster).readOnlyService();
      if (dev.pgcluster.operator.api.v1alpha1.PoolerSpec.enabled(cluster.getSpec())
          && cluster.getSpec().pooler.readOnlyInstances() > 0 && !dns.contains(ro)) {
        problems.add(field + ": the certificate does not name " + ro + " (it names " + String.join(", ", dns)
            + "); the read-only pooler (spec.pooler.readOnlyInstances) verifies the standbys by that name");
      }
    } catch (IllegalArgumentException e) {
      problems.add(field + ": tls.crt is not a PEM certificate (" + e.getMessage() + ")");
      return problems;
    }
    try {
      if (!dev.pgcluster.operator.tls.Certificates.keyMatches(pem, TlsSecrets.value(secret, "tls.key"))) {
        problems.add(field + ": tls.key is not the key of tls.crt");
      }
    } catch (IllegalArgumentException e) {
      problems.add(field + ": tls.key is not a PEM private key (" + e.getMessage() + ")");
    }
    return problems;
  }

  List<String> backupSecretProblems(PgCluster cluster) {
    List<String> problems = new java.util.ArrayList<>();
    if (!BackupRenderer.enabled(cluster)) {
      return problems;
    }
    var s3 = cluster.getSpec().backup.repository.s3;
    String ns = cluster.getMetadata().getNamespace();
    if (s3.credentials != null && s3.credentials.secret != null) {
      Secret secret = client.secrets().inNamespace(ns).withName(s3.credentials.secret).get();
      String idKey = Objects.requireNonNullElse(s3.credentials.accessKeyIdKey, BackupRenderer.DEFAULT_ACCESS_KEY_ID_KEY);
      String secretKey = Objects.requireNonNullElse(s3.credentials.secretAccessKeyKey,
          BackupRenderer.DEFAULT_SECRET_ACCESS_KEY_KEY);
      if (secret == null) {
        problems.add("spec.backup.repository.s3.credentials.secret: Secret " + s3.credentials.secret
            + " does not exist in namespace " + ns);
      } else {
        for (String k : List.of(idKey, secretKey)) {
          if (!has(secret, k)) {
            problems.add("spec.backup.repository.s3.credentials: Secret " + s3.credentials.secret + " has no key " + k);
          }
        }
      }
    }
    if (s3.caSecret != null && s3.caSecret.name != null) {
      Secret ca = client.secrets().inNamespace(ns).withName(s3.caSecret.name).get();
      String key = Objects.requireNonNullElse(s3.caSecret.key, BackupRenderer.DEFAULT_CA_KEY);
      if (ca == null) {
        problems.add("spec.backup.repository.s3.caSecret: Secret " + s3.caSecret.name + " does not exist in namespace " + ns);
      } else if (!has(ca, key)) {
        problems.add("spec.backup.repository.s3.caSecret: Secret " + s3.caSecret.name + " has no key " + key);
      }
    }
    return problems;
  }

  private static boolean has(Secret secret, String key) {
    return dev.pgcluster.operator.observe.SecretValues.has(secret, key);
  }

  /** How soon a reconcile looks again while the pooler holds its clients. */
  static final Duration POOLER_HELD_RECHECK = Duration.ofMillis(500);

  /** A switchover the operator planned (for a restart) that gave up is tried again after this long. */
  static final Duration RETRY_PLANNED_SWITCHOVER = Duration.ofMinutes(5);

  /** A standby on an older timeline that has not streamed for this long cannot follow: rewind it. */
  static final Duration STUCK_AFTER = Duration.ofSeconds(15);
  private final java.util.Map<String, Instant> offStreamSince = new java.util.concurrent.ConcurrentHashMap<>();

  /** The uid of each cluster as last reconciled, by namespace/name. */
  private final java.util.Map<String, String> uids = new java.util.concurrent.ConcurrentHashMap<>();

  /**
   * A cluster deleted and applied again under the same name (its Lease and volumes kept) is a new
   * resource: what was watched of the earlier one must not count. Its holder's last renewal, seen
   * seconds before the deletion, would otherwise make the holder look fenced the moment it runs again,
   * before its agent has even started, and fail it over.
   */
  private void forgetAnEarlierIncarnation(PgCluster cluster) {
    String uid = cluster.getMetadata().getUid();
    String before = uid == null ? null : uids.put(key(cluster), uid);
    if (before != null && !before.equals(uid)) {
      grants.forget(key(cluster));
      archiveFailingSince.remove(key(cluster));
      offStreamSince.keySet().removeIf(k -> k.startsWith(key(cluster) + "/"));
      roles.forget(cluster.getMetadata().getNamespace(), cluster.getMetadata().getName());
      logical.forget(cluster.getMetadata().getNamespace(), cluster.getMetadata().getName());
      LOG.info("{} was created again (uid {}, was {}): what was watched of the earlier resource is forgotten",
          key(cluster), uid, before);
    }
  }

  private static String key(PgCluster cluster) {
    return cluster.getMetadata().getNamespace() + "/" + cluster.getMetadata().getName();
  }

  @Override
  public List<EventSource<?, PgCluster>> prepareEventSources(EventSourceContext<PgCluster> context) {
    var pods = new InformerEventSource<>(InformerEventSourceConfiguration.from(Pod.class, PgCluster.class)
        .withLabelSelector(Labels.MANAGED_BY + "=" + Labels.MANAGER)
        .withSecondaryToPrimaryMapper(Mappers.fromLabel(Labels.CLUSTER, null, PgCluster.class))
        .build(), context);
    var statefulSets = new InformerEventSource<>(InformerEventSourceConfiguration.from(StatefulSet.class, PgCluster.class)
        .withLabelSelector(Labels.MANAGED_BY + "=" + Labels.MANAGER)
        .withSecondaryToPrimaryMapper(Mappers.fromOwnerReferences(PgCluster.class))
        .build(), context);
    // A PgBackup names its cluster in spec.cluster: its outcome refreshes the cluster's status.backup.
    backups = new InformerEventSource<>(InformerEventSourceConfiguration.from(PgBackup.class, PgCluster.class)
        .withSecondaryToPrimaryMapper(b -> b.getSpec() == null || b.getSpec().cluster == null ? Set.of()
            : Set.of(new ResourceID(b.getSpec().cluster, b.getMetadata().getNamespace())))
        .build(), context);
    return List.of(pods, statefulSets, backups,
        HealthPoller.eventSource(context, client, pods, connector, credentials, grants));
  }

  /**
   * An invalid spec does not switch high availability off: with the last spec that was valid (kept in
   * the config ConfigMap), the cluster is observed, failed over, fenced and rejoined as before; only
   * rendering the change waits. A cluster that never had a valid spec has nothing to keep alive.
   */
  UpdateControl<PgCluster> keepAliveWithLastValidSpec(PgCluster cluster, List<String> problems) throws SQLException {
    var lastValid = lastValidSpec(cluster);
    var primary = lease.read(cluster.getMetadata().getNamespace(), PgClusterNames.of(cluster).primaryLease());
    long primaryReadAt = grants.now();
    if (lastValid.isEmpty() || primary.isEmpty()) {
      return reportInvalidSpec(cluster, problems);
    }
    reportInvalidSpecEvent(cluster, problems);
    PgCluster effective = new PgCluster();
    effective.setMetadata(cluster.getMetadata());
    effective.setSpec(lastValid.get());
    effective.setStatus(cluster.getStatus());
    ClusterState state = observe(effective, primary.get(), primaryReadAt);
    boolean moved = false;
    try {
      moved = act(effective, state);
      if (moved) {
        applyConfigMaps(effective, ensurePrimaryLease(effective));
      }
    } finally {
      pooler.afterActing(effective, state, moved);
    }
    PgClusterStatus status = StatusAssembler.invalidButRunning(effective, state, problems,
        cluster.getMetadata().getGeneration(), now());
    metrics.record(cluster, status);
    writeStatus(cluster, status);
    return UpdateControl.<PgCluster>noUpdate().rescheduleAfter(state.healthyPrimary().isEmpty()
        ? Duration.ofSeconds(lastValid.get().failover.probePeriodSeconds) : config.statusRefresh());
  }

  private java.util.Optional<dev.pgcluster.operator.api.v1alpha1.PgClusterSpec> lastValidSpec(PgCluster cluster) {
    var cm = client.configMaps().inNamespace(cluster.getMetadata().getNamespace())
        .withName(PgClusterNames.of(cluster).configMap()).get();
    String json = cm == null || cm.getData() == null ? null : cm.getData().get(ConfigMapRenderer.SPEC_JSON);
    if (json == null) {
      return java.util.Optional.empty();
    }
    var spec = client.getKubernetesSerialization().unmarshal(json, dev.pgcluster.operator.api.v1alpha1.PgClusterSpec.class);
    return SpecValidator.validate(spec).isEmpty() ? java.util.Optional.of(spec) : java.util.Optional.empty();
  }

  private void reportInvalidSpecEvent(PgCluster cluster, List<String> problems) {
    String previous = cluster.getStatus() == null || cluster.getStatus().phase != ClusterPhase.Invalid ? null
        : cluster.getStatus().conditions == null ? null : cluster.getStatus().conditions.stream()
            .filter(c -> c.getType().equals("Progressing")).map(c -> c.getMessage()).findFirst().orElse(null);
    if (previous == null || !previous.contains(String.join("; ", problems))) {
      events.warning(cluster, Reasons.INVALID_SPEC, String.join("; ", problems));
    }
  }

  /** What the schema could not reject: a condition and one Warning event per distinct problem set. */
  UpdateControl<PgCluster> reportInvalidSpec(PgCluster cluster, List<String> problems) {
    String previous = cluster.getStatus() == null || cluster.getStatus().phase != ClusterPhase.Invalid
        ? null : readyMessage(cluster.getStatus());
    PgClusterStatus status = StatusAssembler.invalid(cluster, problems, now());
    if (!Objects.equals(previous, readyMessage(status))) {
      events.warning(cluster, Reasons.INVALID_SPEC, String.join("; ", problems));
    }
    writeStatus(cluster, status);
    return UpdateControl.noUpdate();
  }

  /** Generated once, never overwritten; user-supplied secrets are used as they are. */
  void ensureSecrets(PgCluster cluster) {
    if (cluster.getSpec().bootstrap.superuserSecret == null) {
      applier.createIfAbsent(SecretRenderer.superuser(cluster, random));
    }
    applier.createIfAbsent(SecretRenderer.replication(cluster, random));
    if (cluster.getSpec().bootstrap.ownerSecret == null) {
      applier.createIfAbsent(SecretRenderer.app(cluster, random));
    }
  }

  /**
   * The Lease is the record of who is primary; the first primary of a new cluster is ordinal 0. A
   * missing Lease of a cluster with data is rebuilt from the instances (see LeaseRecovery).
   */
  PrimaryRecord ensurePrimaryLease(PgCluster cluster) {
    String ns = cluster.getMetadata().getNamespace();
    PgClusterNames names = PgClusterNames.of(cluster);
    return lease.read(ns, names.primaryLease()).orElseGet(() -> createPrimaryLease(cluster));
  }

  private PrimaryRecord createPrimaryLease(PgCluster cluster) {
    String ns = cluster.getMetadata().getNamespace();
    PgClusterNames names = PgClusterNames.of(cluster);
    ClusterState seen = observer.observe(cluster, new PrimaryRecord("", 0, false, "0"));
    boolean volumes = !client.persistentVolumeClaims().inNamespace(ns).withLabels(Labels.clusterSelector(cluster))
        .list().getItems().isEmpty();
    LeaseRecovery.Choice choice = LeaseRecovery.choose(seen.instances(), volumes,
        dev.pgcluster.operator.render.SyncStandbyNames.promotableInstances(cluster.getSpec()));
    int duration = cluster.getSpec().failover.leaseDurationSeconds;
    if (choice instanceof LeaseRecovery.Rebuild rebuild) {
      grants.forget(key(cluster));  // nothing is known of any earlier grant: a promotion waits a whole lease
      PrimaryRecord rebuilt = lease.rebuild(ns, names.primaryLease(), rebuild.holder(), rebuild.epoch(), duration,
          Labels.common(cluster), "primary record rebuilt: " + rebuild.why());
      LOG.warn("the primary Lease {} was missing while the cluster holds data: rebuilt naming {} (epoch {}): {}",
          names.primaryLease(), rebuild.holder(), rebuild.epoch(), rebuild.why());
      events.warning(cluster, EventReasons.PRIMARY_RECORD_REBUILT, "the primary Lease was missing while the cluster holds data;"
          + " rebuilt from what the instances report: " + rebuild.why());
      return rebuilt;
    }
    if (choice instanceof LeaseRecovery.Wait wait) {
      throw new PrimaryRecordMissingException(wait.why());
    }
    PrimaryRecord created = lease.create(ns, names.primaryLease(), names.pod(0), duration, Labels.common(cluster));
    events.normal(cluster, EventReasons.PRIMARY_ELECTED, "new cluster: " + names.pod(0) + " will be the first primary (epoch 0)");
    return created;
  }

  /**
   * The record is missing and no instance answers yet: run the instances without naming a primary (each
   * starts as a standby of its own data, read-only) so that they can be asked, and look again soon.
   */
  UpdateControl<PgCluster> awaitInstancesToRebuildTheRecord(PgCluster cluster, String why) {
    applier.apply(ConfigMapRenderer.config(cluster), OwnedFields::configMap);
    applier.apply(ConfigMapRenderer.topology(cluster, "", true, 0), OwnedFields::configMap);
    applyServices(cluster);
    applyInstanceRbac(cluster);
    applyStatefulSet(cluster);
    applyPodDisruptionBudget(cluster);
    LOG.warn("{}", why);
    PgClusterStatus status = StatusAssembler.recordMissing(cluster, why, now());
    if (cluster.getStatus() == null || !Objects.equals(readyMessage(cluster.getStatus()), readyMessage(status))) {
      events.warning(cluster, EventReasons.PRIMARY_RECORD_MISSING, why);
    }
    writeStatus(cluster, status);
    return UpdateControl.<PgCluster>noUpdate().rescheduleAfter(
        Duration.ofSeconds(cluster.getSpec().failover.probePeriodSeconds));
  }

  /** The record is missing and cannot be rebuilt yet; the reconcile reports it and looks again. */
  static final class PrimaryRecordMissingException extends RuntimeException {
    PrimaryRecordMissingException(String message) {
      super(message);
    }
  }

  void applyConfigMaps(PgCluster cluster, PrimaryRecord primary) {
    applier.apply(ConfigMapRenderer.config(cluster), OwnedFields::configMap);
    applier.apply(ConfigMapRenderer.topology(cluster, primary.holder(), primary.initialized(), primary.epoch()),
        OwnedFields::configMap);
  }

  void applyServices(PgCluster cluster) {
    ServiceRenderer.all(cluster).forEach(s -> applier.apply(s, OwnedFields::service));
  }

  /**
   * The agent's ServiceAccount, Role and RoleBinding. The Role's rules are kept up to date (an operator
   * upgrade may grant the agent more, as backups did); the rest is fixed, so created once.
   */
  void applyInstanceRbac(PgCluster cluster) {
    // Only the metadata is the operator's (spec.serviceAccountMetadata): no owned fields beyond it.
    applier.apply(InstanceRbacRenderer.serviceAccount(cluster), (live, desired) -> { });
    applier.apply(InstanceRbacRenderer.role(cluster), (live, desired) -> live.setRules(desired.getRules()));
    applier.createIfAbsent(InstanceRbacRenderer.roleBinding(cluster));
  }

  void applyStatefulSet(PgCluster cluster) {
    StatefulSet desired = StatefulSetRenderer.render(cluster, config.agentImage());
    if (applier.apply(desired, OwnedFields::statefulSet) == ResourceApplier.Outcome.UPDATED) {
      events.normal(cluster, EventReasons.STATEFUL_SET_UPDATED, "StatefulSet " + desired.getMetadata().getName()
          + " updated: " + cluster.getSpec().instances + " instances; changed pod templates apply as pods restart");
    }
  }

  void applyPodDisruptionBudget(PgCluster cluster) {
    applier.apply(PodDisruptionBudgetRenderer.render(cluster), OwnedFields::podDisruptionBudget);
  }

  /** Returns true when the primary Lease changed hands. */
  boolean act(PgCluster cluster, ClusterState state) throws SQLException {
    List<Action> actions = new java.util.ArrayList<>(Decider.decide(cluster.getSpec(), PgClusterNames.of(cluster),
        state));
    Instant aborted = actuator.lastAbortedPlannedSwitchover(cluster);
    boolean mayPlanSwitchover = aborted == null || Duration.between(aborted, Instant.now()).compareTo(RETRY_PLANNED_SWITCHOVER) > 0;
    actions.addAll(Rollout.decide(cluster.getSpec(), PostgresConfig.configHash(cluster), state, actions,
        mayPlanSwitchover));
    if (!actions.isEmpty()) {
      LOG.debug("actions: {}", actions);
    }
    try {
      actuator.execute(cluster, state, actions, moved -> applyConfigMaps(cluster, moved));
    } catch (KubernetesClientException e) {
      if (e.getCode() != 409) {
        throw e;
      }
      LOG.info("the primary Lease or a pod changed while acting; deciding again on the next reconcile");
    } catch (LeaseConflictException e) {
      LOG.info("{}; deciding again on the next reconcile", e.getMessage());
    }
    return actions.stream().anyMatch(a -> a instanceof Action.TransferPrimary || a instanceof Action.Switchover);
  }

  private InformerEventSource<PgBackup, PgCluster> backups;

  /** This cluster's PgBackups, from the informer's cache. */
  List<PgBackup> backupsOf(PgCluster cluster) {
    if (backups == null) {
      return List.of();
    }
    return backups.list(cluster.getMetadata().getNamespace(),
        b -> b.getSpec() != null && cluster.getMetadata().getName().equals(b.getSpec().cluster)).toList();
  }

  /** Per cluster: why the API server last refused to grow a data claim (cleared once none is refused). */
  private final java.util.Map<String, String> volumeRefusals = new java.util.concurrent.ConcurrentHashMap<>();

  /**
   * Raises the request of each bound data claim below spec.storage.size, and of each WAL claim below
   * spec.walStorage.size (the StatefulSet's claim templates are immutable, so claims are grown one by one;
   * a new instance's claim once it is bound). Where the storage class does not allow expansion the API
   * server refuses: its message goes to the status. The status reports the data volumes' sizes.
   */
  VolumeGrowth.Status applyVolumeSizes(PgCluster cluster) {
    PgClusterNames names = PgClusterNames.of(cluster);
    List<io.fabric8.kubernetes.api.model.PersistentVolumeClaim> pvcs;
    try {
      // One list for both templates.
      pvcs = client.persistentVolumeClaims().inNamespace(cluster.getMetadata().getNamespace())
          .withLabels(Labels.clusterSelector(cluster)).list().getItems();
    } catch (KubernetesClientException e) {
      LOG.warn("cannot list the volume claims to compare them with the spec's sizes: {}", e.getMessage());
      return VolumeGrowth.Status.NONE;
    }
    VolumeGrowth.Status data = growClaims(cluster, pvcs, names.dataVolumeClaimTemplate(),
        cluster.getSpec().storage.size, "storage.size");
    VolumeGrowth.Status wal = cluster.getSpec().walStorage == null ? VolumeGrowth.Status.NONE
        : growClaims(cluster, pvcs, names.walVolumeClaimTemplate(), cluster.getSpec().walStorage.size,
            "walStorage.size");
    String refusal = data.refusal() != null ? data.refusal() : wal.refusal();
    String before = refusal == null ? volumeRefusals.remove(key(cluster)) : volumeRefusals.put(key(cluster), refusal);
    if (refusal != null && !refusal.equals(before)) {
      LOG.warn("volumes do not grow as the spec asks: the API server refused {}", refusal);
    }
    return new VolumeGrowth.Status(data.wanted(), data.claims(), data.toGrow(), data.growing(), refusal);
  }

  /** Grows the claims of one claim template to {@code wanted}; the refusal is the API server's, if any. */
  private VolumeGrowth.Status growClaims(PgCluster cluster, List<io.fabric8.kubernetes.api.model.PersistentVolumeClaim>
      pvcs, String template, String wanted, String field) {
    String ns = cluster.getMetadata().getNamespace();
    PgClusterNames names = PgClusterNames.of(cluster);
    List<VolumeGrowth.Claim> claims = new java.util.ArrayList<>();
    for (var pvc : pvcs) {
      String prefix = template + "-";
      String name = pvc.getMetadata().getName();
      if (!name.startsWith(prefix) || names.ordinalOf(name.substring(prefix.length())) < 0) {
        continue;
      }
      var requested = pvc.getSpec().getResources() == null || pvc.getSpec().getResources().getRequests() == null
          ? null : pvc.getSpec().getResources().getRequests().get("storage");
      var capacity = pvc.getStatus() == null || pvc.getStatus().getCapacity() == null ? null
          : pvc.getStatus().getCapacity().get("storage");
      claims.add(new VolumeGrowth.Claim(name.substring(prefix.length()), name,
          requested == null ? null : requested.toString(), capacity == null ? null : capacity.toString()));
    }
    VolumeGrowth.Status plan = VolumeGrowth.plan(wanted, claims, null);
    List<VolumeGrowth.Claim> raised = new java.util.ArrayList<>();
    String refusal = null;
    for (VolumeGrowth.Claim claim : plan.toGrow()) {
      try {
        client.persistentVolumeClaims().inNamespace(ns).withName(claim.name()).patch(
            io.fabric8.kubernetes.client.dsl.base.PatchContext.of(io.fabric8.kubernetes.client.dsl.base.PatchType.JSON_MERGE),
            "{\"spec\":{\"resources\":{\"requests\":{\"storage\":\"" + wanted + "\"}}}}");
        raised.add(claim);
        LOG.info("growing claim {} from {} to {} ({})", claim.name(), claim.requested(), wanted, field);
        events.normal(cluster, EventReasons.VOLUME_GROWING, claim.name() + ": " + claim.requested() + " -> " + wanted
            + " (" + field + "); the storage driver grows the volume while the instance runs");
      } catch (KubernetesClientException e) {
        refusal = claim.name() + " (" + claim.requested() + " -> " + wanted + ", " + field + "): "
            + (e.getStatus() != null && e.getStatus().getMessage() != null ? e.getStatus().getMessage() : e.getMessage());
      }
    }
    return VolumeGrowth.plan(wanted, VolumeGrowth.raised(claims, raised, wanted), refusal);
  }

  UpdateControl<PgCluster> reportStatus(PgCluster cluster, ClusterState state, VolumeGrowth.Status volumes) {
    PgClusterStatus previous = cluster.getStatus();
    PgClusterStatus status = StatusAssembler.observed(cluster, state, volumes, now());
    status.backup = StatusAssembler.backup(cluster, state.archive(), backupsOf(cluster),
        previous == null ? null : previous.backup);
    status.tls = tlsSecrets.status(cluster);
    status.roles = roles.status(cluster, previous == null ? null : previous.roles);
    status.logicalReplication = logical.status(cluster, previous == null ? null : previous.logicalReplication);
    Duration untilNextBackup = scheduleBackups(cluster, status);
    reportRecoveryFailure(cluster, previous, status);
    metrics.record(cluster, status);
    ClusterPhase before = previous == null ? null : previous.phase;
    if (before != status.phase) {
      String message = "phase " + (before == null ? "(none)" : before) + " -> " + status.phase + ": "
          + readyMessage(status);
      if (status.phase == ClusterPhase.Healthy || status.phase == ClusterPhase.Initializing) {
        events.normal(cluster, EventReasons.PHASE + status.phase, message);
      } else {
        events.warning(cluster, EventReasons.PHASE + status.phase, message);
      }
    }
    reportDegradation(cluster, previous, status);
    cluster.setStatus(status);
    String serializedBefore = previous == null ? "" : client.getKubernetesSerialization().asJson(previous);
    if (!serializedBefore.equals(client.getKubernetesSerialization().asJson(status))) {
      writeStatus(cluster, status);
    }
    UpdateControl<PgCluster> control = UpdateControl.noUpdate();
    // While the primary is not healthy, look again every probe period: that is how a failover is timed.
    // So does a configuration rollout: nothing signals that the kubelet has refreshed a file.
    boolean watchClosely = (state.healthyPrimary().isEmpty() && state.primary().initialized())
        || !Rollout.progress(cluster.getSpec(), PostgresConfig.configHash(cluster), state).converged();
    Duration next = watchClosely ? Duration.ofSeconds(cluster.getSpec().failover.probePeriodSeconds) : config.statusRefresh();
    if (untilNextBackup != null) {
      next = earliest(next, untilNextBackup);
    }
    // The grant's deadlines are timed from the Lease read this reconcile began with, not from now.
    GrantWatch.Grant grant = state.grant();
    long now = grants.now();
    Duration formerLeft = grant.formerGrantLeft();
    if (!formerLeft.isZero()) {
      // Promote as soon as the former primary's grant is over.
      next = earliest(next, grant.fromNow(formerLeft, now));
    }
    if (state.primary().initialized() && !grant.holderRenewing() && !grant.holderFenced()
        && !grant.untilFenced().isZero()) {
      // A holder that stopped renewing fences itself at its deadline: begin the failover right then.
      next = earliest(next, grant.fromNow(grant.untilFenced(), now));
    }
    return control.rescheduleAfter(next);
  }

  /**
   * spec.backup.schedule: when a firing has come since the last one recorded (or since the schedule
   * was first seen), create its PgBackup (named after the firing, so a repeated reconcile creates it once)
   * and record the firing. Missed firings (the operator was down) make one backup, not many. Returns
   * the time until the next firing, or null without a schedule.
   */
  Duration scheduleBackups(PgCluster cluster, PgClusterStatus status) {
    if (status.backup == null || cluster.getSpec().backup.schedule == null
        || !Boolean.TRUE.equals(status.initialized)) {
      return null;
    }
    CronSchedule schedule = CronSchedule.parse(cluster.getSpec().backup.schedule);
    Instant now = clock.instant();
    if (status.backup.lastScheduledAt == null) {
      // A schedule just set (or a new cluster): its first firing comes after now, as with cron.
      status.backup.lastScheduledAt = now.truncatedTo(ChronoUnit.MINUTES).toString();
      return schedule.next(now).map(t -> Duration.between(now, t)).orElse(null);
    }
    Optional<Instant> due = schedule.latestDue(Instant.parse(status.backup.lastScheduledAt), now);
    if (due.isPresent()) {
      String name = cluster.getMetadata().getName() + "-" + java.time.format.DateTimeFormatter.ofPattern("yyyyMMddHHmm")
          .withZone(java.time.ZoneOffset.UTC).format(due.get());
      PgBackup backup = new PgBackup();
      backup.setMetadata(new io.fabric8.kubernetes.api.model.ObjectMetaBuilder(Owned.metadata(cluster, name)).build());
      backup.setSpec(new dev.pgcluster.operator.api.v1alpha1.PgBackupSpec());
      backup.getSpec().cluster = cluster.getMetadata().getName();
      try {
        client.resources(PgBackup.class).inNamespace(cluster.getMetadata().getNamespace()).resource(backup).create();
        events.normal(cluster, EventReasons.BACKUP_SCHEDULED, "PgBackup " + name + " created for the schedule '"
            + cluster.getSpec().backup.schedule + "' (" + due.get() + ")");
      } catch (KubernetesClientException e) {
        if (e.getCode() != 409) {
          throw e;
        }
      }
      status.backup.lastScheduledAt = due.get().toString();
    }
    return schedule.next(now).map(t -> Duration.between(now, t)).orElse(null);
  }

  /**
   * A cluster restored from the store whose first primary cannot be restored (a target before the
   * first backup or past the archived WAL, a store that cannot be read): the bootstrap container's
   * message, as a condition and an event. The pod keeps trying; nothing is written to the source.
   */
  void reportRecoveryFailure(PgCluster cluster, PgClusterStatus previous, PgClusterStatus status) {
    if (Boolean.TRUE.equals(status.initialized) || cluster.getSpec().bootstrap.recovery == null) {
      return;
    }
    Pod first = client.pods().inNamespace(cluster.getMetadata().getNamespace())
        .withName(PgClusterNames.of(cluster).pod(0)).get();
    String message = first == null || first.getStatus() == null || first.getStatus().getInitContainerStatuses() == null
        ? null : first.getStatus().getInitContainerStatuses().stream()
            .map(s -> s.getLastState() != null && s.getLastState().getTerminated() != null ? s.getLastState().getTerminated()
                : s.getState() != null ? s.getState().getTerminated() : null)
            .filter(t -> t != null && t.getMessage() != null && t.getMessage().startsWith(RECOVERY_FAILED_PREFIX))
            .map(t -> t.getMessage().substring(RECOVERY_FAILED_PREFIX.length()).strip())
            .findFirst().orElse(null);
    if (message == null) {
      return;
    }
    status.conditions.removeIf(c -> ConditionTypes.PROGRESSING.equals(c.getType()));
    status.conditions.add(new io.fabric8.kubernetes.api.model.ConditionBuilder()
        .withType(ConditionTypes.PROGRESSING).withStatus("False").withReason(ConditionTypes.Reasons.RECOVERY_FAILED)
        .withMessage("restoring " + cluster.getSpec().bootstrap.recovery.source + " from the store failed: " + message)
        .withObservedGeneration(cluster.getMetadata().getGeneration())
        .withLastTransitionTime(now().toString()).build());
    boolean reported = previous != null && previous.conditions != null && previous.conditions.stream()
        .anyMatch(c -> ConditionTypes.Reasons.RECOVERY_FAILED.equals(c.getReason()) && c.getMessage() != null
            && c.getMessage().endsWith(message));
    if (!reported) {
      events.warning(cluster, EventReasons.RECOVERY_FAILED, "restoring " + cluster.getSpec().bootstrap.recovery.source
          + " failed: " + message);
    }
  }

  /** What bootstrap.sh writes as its termination message when a restore fails. */
  static final String RECOVERY_FAILED_PREFIX = "recovery failed:";

  /** Stops the threads of its own (the Lease sweep). */
  public void close() {
    sweep.close();
  }

  /** {@code next}, or {@code deadline} and a moment when that comes first (never in the past). */
  private static Duration earliest(Duration next, Duration deadline) {
    Duration at = (deadline.isNegative() ? Duration.ZERO : deadline).plusMillis(20);
    return at.compareTo(next) < 0 ? at : next;
  }

  /**
   * The whole status, replacing what is there (PUT on /status without a resourceVersion: only the
   * leading operator writes status). A JSON patch computed against a cached copy can fail on arrays
   * that changed meanwhile; a replacement cannot.
   */
  void writeStatus(PgCluster cluster, PgClusterStatus status) {
    PgCluster copy = new PgCluster();
    copy.setMetadata(new io.fabric8.kubernetes.api.model.ObjectMetaBuilder()
        .withName(cluster.getMetadata().getName()).withNamespace(cluster.getMetadata().getNamespace()).build());
    copy.setSpec(cluster.getSpec());
    copy.setStatus(status);
    client.resources(PgCluster.class).inNamespace(cluster.getMetadata().getNamespace()).resource(copy).updateStatus();
  }

  /** An event whenever the reason the cluster is degraded changes, including back to none. */
  void reportDegradation(PgCluster cluster, PgClusterStatus previous, PgClusterStatus status) {
    var before = degraded(previous);
    var after = degraded(status);
    String reasonBefore = before == null || !"True".equals(before.getStatus()) ? null : before.getReason();
    String reasonAfter = after == null || !"True".equals(after.getStatus()) ? null : after.getReason();
    if (Objects.equals(reasonBefore, reasonAfter)) {
      return;
    }
    if (reasonAfter != null) {
      events.warning(cluster, reasonAfter, after.getMessage());
    } else if (reasonBefore != null) {
      events.normal(cluster, EventReasons.RECOVERED, "no longer degraded (" + reasonBefore + " resolved)");
    }
  }

  private static io.fabric8.kubernetes.api.model.Condition degraded(PgClusterStatus status) {
    return status == null || status.conditions == null ? null : status.conditions.stream()
        .filter(c -> "Degraded".equals(c.getType())).findFirst().orElse(null);
  }

  private static String readyMessage(PgClusterStatus status) {
    return status.conditions == null ? null : status.conditions.stream()
        .filter(c -> "Ready".equals(c.getType())).map(c -> c.getMessage()).findFirst().orElse(null);
  }

  private Instant now() {
    return clock.instant().truncatedTo(ChronoUnit.SECONDS);
  }
}
