package dev.pgcluster.operator.metrics;

import dev.pgcluster.operator.api.v1alpha1.InstanceRole;
import dev.pgcluster.operator.api.v1alpha1.InstanceStatus;
import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.operator.api.v1alpha1.PgClusterStatus;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.ToDoubleFunction;

/**
 * Domain metrics, prefixed pgcluster_ and tagged with namespace/cluster/instance only. Each gauge
 * shows the latest status of every cluster; a deleted cluster's rows disappear with {@link #forget}.
 * A value that is not known (a primary's lag) has no row: no NaN is ever exported.
 */
public final class PgClusterMetrics {
  private final Map<String, PgClusterStatus> latest = new ConcurrentHashMap<>();
  /** What each cluster's spec asks for, next to what its status shows (alerts compare the two). */
  private final Map<String, Expected> expected = new ConcurrentHashMap<>();
  private final MultiGauge lagBytes;
  private final MultiGauge lagSeconds;
  private final MultiGauge ready;
  private final MultiGauge primary;
  private final MultiGauge readyInstances;
  private final MultiGauge epoch;
  private final MultiGauge lastArchived;
  private final MultiGauge walWaiting;
  private final MultiGauge archiveFailures;
  private final MultiGauge delayed;
  private final MultiGauge initialized;
  private final MultiGauge instancesDesired;
  private final MultiGauge synchronousStandbys;
  private final MultiGauge synchronousRequired;
  private final MeterRegistry registry;
  /** The latest statistics of each cluster's pooler pods, by cluster key, then pod name. */
  private final Map<String, Map<String, dev.pgcluster.operator.postgres.PoolerSql.PoolerStats>> poolers =
      new ConcurrentHashMap<>();
  private final MultiGauge poolerClients;
  private final MultiGauge poolerServers;
  private final MultiGauge poolerWait;
  private final MultiGauge poolerTransactions;
  private final MultiGauge poolerQueries;
  private final MultiGauge subscriptionReplicating;
  private final MultiGauge slotLag;

  private record Expected(int instances, int synchronousStandbys) {
    static Expected of(PgCluster cluster) {
      var spec = cluster.getSpec();
      if (spec == null) {
        return new Expected(0, 0);
      }
      var replication = spec.replication;
      boolean sync = replication != null && replication.mode == dev.pgcluster.operator.api.v1alpha1.ReplicationMode.SYNC;
      return new Expected(spec.instances == null ? 0 : spec.instances,
          sync && replication.number != null ? replication.number : 0);
    }
  }

  /** The operator's registry: its own series, and the JVM's and the process's (memory, GC, threads, CPU, uptime). */
  public static io.micrometer.prometheusmetrics.PrometheusMeterRegistry registry() {
    var registry = new io.micrometer.prometheusmetrics.PrometheusMeterRegistry(
        io.micrometer.prometheusmetrics.PrometheusConfig.DEFAULT);
    new io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics().bindTo(registry);
    new io.micrometer.core.instrument.binder.jvm.JvmGcMetrics().bindTo(registry);
    new io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics().bindTo(registry);
    new io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics().bindTo(registry);
    new io.micrometer.core.instrument.binder.system.ProcessorMetrics().bindTo(registry);
    new io.micrometer.core.instrument.binder.system.UptimeMetrics().bindTo(registry);
    new io.micrometer.core.instrument.binder.system.FileDescriptorMetrics().bindTo(registry);
    return registry;
  }

  public PgClusterMetrics(MeterRegistry registry) {
    this.registry = registry;
    delayed = MultiGauge.builder("pgcluster.instance.delayed")
        .description("1 for a delayed standby (recovery_min_apply_delay: its replay lag is by design)")
        .register(registry);
    initialized = MultiGauge.builder("pgcluster.initialized")
        .description("1 once the cluster's first primary has been initialized (initdb or a restore finished)")
        .register(registry);
    instancesDesired = MultiGauge.builder("pgcluster.instances.desired")
        .description("Instances the cluster's spec asks for").register(registry);
    synchronousStandbys = MultiGauge.builder("pgcluster.synchronous.standbys")
        .description("Standbys the primary counts as synchronous now (pg_stat_replication sync_state sync or quorum)")
        .register(registry);
    synchronousRequired = MultiGauge.builder("pgcluster.synchronous.standbys.required")
        .description("Synchronous standbys the spec asks for (replication.number with mode sync, else 0)")
        .register(registry);
    lagBytes = MultiGauge.builder("pgcluster.instance.lag.bytes").baseUnit("bytes")
        .description("WAL bytes between the primary and the standby's replay position").register(registry);
    lagSeconds = MultiGauge.builder("pgcluster.instance.lag.seconds")
        .description("Seconds since the standby's last replayed commit (0 when caught up)").register(registry);
    ready = MultiGauge.builder("pgcluster.instance.ready").description("1 when the instance's pod is ready")
        .register(registry);
    primary = MultiGauge.builder("pgcluster.instance.primary").description("1 for the primary instance")
        .register(registry);
    readyInstances = MultiGauge.builder("pgcluster.ready.instances").description("Ready instances per cluster")
        .register(registry);
    epoch = MultiGauge.builder("pgcluster.primary.epoch").description("Primary epoch (Lease transitions)")
        .register(registry);
    // Archiving (spec.backup): the time, not the age, so that the age keeps growing between refreshes
    // (alert on time() - pgcluster_archive_last_archived_timestamp_seconds).
    lastArchived = MultiGauge.builder("pgcluster.archive.last.archived.timestamp").baseUnit("seconds")
        .description("When the primary last archived a WAL file (Unix time)").register(registry);
    walWaiting = MultiGauge.builder("pgcluster.archive.wal.waiting").baseUnit("segments")
        .description("WAL segments the primary keeps until they are archived").register(registry);
    archiveFailures = MultiGauge.builder("pgcluster.archive.failures")
        .description("Failed archive attempts on the current primary since it started (pg_stat_archiver)")
        .register(registry);
    poolerClients = MultiGauge.builder("pgcluster.pooler.clients")
        .description("Client connections of a pooler pod: active (paired with a server) or waiting for one")
        .register(registry);
    poolerServers = MultiGauge.builder("pgcluster.pooler.servers")
        .description("Server connections of a pooler pod: active (paired with a client) or idle").register(registry);
    poolerWait = MultiGauge.builder("pgcluster.pooler.longest.wait").baseUnit("seconds")
        .description("How long the oldest waiting client of a pooler pod has waited").register(registry);
    poolerTransactions = MultiGauge.builder("pgcluster.pooler.transactions")
        .description("Transactions a pooler pod has pooled since it started (SHOW STATS)").register(registry);
    poolerQueries = MultiGauge.builder("pgcluster.pooler.queries")
        .description("Queries a pooler pod has pooled since it started (SHOW STATS)").register(registry);
    subscriptionReplicating = MultiGauge.builder("pgcluster.logical.subscription.replicating")
        .description("1 while a subscription of spec.logicalReplication replicates, 0 otherwise").register(registry);
    slotLag = MultiGauge.builder("pgcluster.logical.slot.lag").baseUnit("bytes")
        .description("WAL a subscriber has not confirmed from this cluster's primary (its pglogical slot)")
        .register(registry);
  }

  /** The pooler pods' statistics as last read; pods not in {@code byPod} lose their rows. */
  public void poolers(PgCluster cluster, Map<String, dev.pgcluster.operator.postgres.PoolerSql.PoolerStats> byPod) {
    String key = cluster.getMetadata().getNamespace() + "/" + cluster.getMetadata().getName();
    if (byPod.isEmpty()) {
      poolers.remove(key);
    } else {
      poolers.put(key, Map.copyOf(byPod));
    }
    refresh();
  }

  public void record(PgCluster cluster, PgClusterStatus status) {
    String key = cluster.getMetadata().getNamespace() + "/" + cluster.getMetadata().getName();
    if (latest.put(key, status) == null) {
      // Counters exist at 0 from a cluster's first status, not from its first failover: a rate() or an
      // alert on increase() sees the first one.
      registry.counter("pgcluster.failovers", clusterTags(cluster));
      registry.counter("pgcluster.rewind.discarded.bytes", clusterTags(cluster));
      registry.counter("pgcluster.rewind.discarded.transactions", clusterTags(cluster));
    }
    expected.put(key, Expected.of(cluster));
    refresh();
  }

  /** A failover began: the Lease named a new primary. */
  /** A former primary rejoined: what pg_rewind discarded of its data past the fork point. */
  public void rewound(PgCluster cluster, long bytes, int transactions) {
    registry.counter("pgcluster.rewind.discarded.bytes", clusterTags(cluster)).increment(bytes);
    registry.counter("pgcluster.rewind.discarded.transactions", clusterTags(cluster)).increment(transactions);
  }

  public void failoverStarted(PgCluster cluster) {
    registry.counter("pgcluster.failovers", clusterTags(cluster)).increment();
  }

  /** The new primary accepts writes; {@code sinceChange}: from the change of the Lease to now. */
  public void promoted(PgCluster cluster, java.time.Duration sinceChange) {
    if (sinceChange != null) {
      io.micrometer.core.instrument.Timer.builder("pgcluster.failover.duration")
          .description("From the change of primary in the Lease to the new primary accepting writes")
          .tags(clusterTags(cluster)).register(registry).record(sinceChange);
    }
  }

  private static io.micrometer.core.instrument.Tags clusterTags(PgCluster cluster) {
    return io.micrometer.core.instrument.Tags.of("namespace", cluster.getMetadata().getNamespace(), "cluster",
        cluster.getMetadata().getName());
  }

  public void forget(String namespace, String name) {
    latest.remove(namespace + "/" + name);
    expected.remove(namespace + "/" + name);
    poolers.remove(namespace + "/" + name);
    refresh();
  }

  private synchronized void refresh() {
    lagBytes.register(instanceRows(i -> i.lagBytes == null ? Double.NaN : i.lagBytes), true);
    lagSeconds.register(instanceRows(i -> i.lagSeconds == null ? Double.NaN : i.lagSeconds), true);
    ready.register(instanceRows(i -> Boolean.TRUE.equals(i.ready) ? 1 : 0), true);
    primary.register(instanceRows(i -> i.role == InstanceRole.PRIMARY ? 1 : 0), true);
    readyInstances.register(clusterRows(s -> s.readyInstances == null ? 0 : s.readyInstances), true);
    epoch.register(clusterRows(s -> s.primaryEpoch == null ? 0 : s.primaryEpoch), true);
    initialized.register(clusterRows(s -> Boolean.TRUE.equals(s.initialized) ? 1 : 0), true);
    delayed.register(instanceRows(i -> i.role == InstanceRole.DELAYED_REPLICA ? 1 : 0), true);
    synchronousStandbys.register(clusterRows(s -> s.instances.stream()
        .filter(i -> "sync".equals(i.syncState) || "quorum".equals(i.syncState)).count()), true);
    List<MultiGauge.Row<?>> desired = new ArrayList<>();
    List<MultiGauge.Row<?>> required = new ArrayList<>();
    latest.keySet().forEach(key -> {
      Expected e = expected.getOrDefault(key, new Expected(0, 0));
      desired.add(MultiGauge.Row.of(clusterTags(key), e.instances()));
      required.add(MultiGauge.Row.of(clusterTags(key), e.synchronousStandbys()));
    });
    instancesDesired.register(desired, true);
    synchronousRequired.register(required, true);
    lastArchived.register(backupRows(b -> b.lastArchivedAt == null ? Double.NaN
        : java.time.Instant.parse(b.lastArchivedAt).toEpochMilli() / 1000.0), true);
    walWaiting.register(backupRows(b -> b.walSegmentsWaiting == null ? Double.NaN : b.walSegmentsWaiting), true);
    archiveFailures.register(backupRows(b -> b.archiveFailures == null ? Double.NaN : b.archiveFailures), true);
    List<MultiGauge.Row<?>> subscriptions = new ArrayList<>();
    List<MultiGauge.Row<?>> slots = new ArrayList<>();
    latest.forEach((key, status) -> {
      if (status.logicalReplication != null) {
        status.logicalReplication.subscriptions.forEach(sub -> subscriptions.add(MultiGauge.Row.of(
            clusterTags(key).and("subscription", sub.name), "replicating".equals(sub.state) ? 1 : 0)));
        status.logicalReplication.slots.forEach(slot -> slots.add(MultiGauge.Row.of(
            clusterTags(key).and("slot", slot.name), slot.lagBytes == null ? 0 : slot.lagBytes)));
      }
    });
    subscriptionReplicating.register(subscriptions, true);
    slotLag.register(slots, true);
    List<MultiGauge.Row<?>> clients = new ArrayList<>();
    List<MultiGauge.Row<?>> servers = new ArrayList<>();
    List<MultiGauge.Row<?>> waits = new ArrayList<>();
    List<MultiGauge.Row<?>> transactions = new ArrayList<>();
    List<MultiGauge.Row<?>> queries = new ArrayList<>();
    poolers.forEach((key, byPod) -> byPod.forEach((pod, stats) -> {
      Tags tags = clusterTags(key).and("pod", pod);
      clients.add(MultiGauge.Row.of(tags.and("state", "active"), stats.clientsActive()));
      clients.add(MultiGauge.Row.of(tags.and("state", "waiting"), stats.clientsWaiting()));
      servers.add(MultiGauge.Row.of(tags.and("state", "active"), stats.serversActive()));
      servers.add(MultiGauge.Row.of(tags.and("state", "idle"), stats.serversIdle()));
      waits.add(MultiGauge.Row.of(tags, stats.longestWaitSeconds()));
      transactions.add(MultiGauge.Row.of(tags, stats.transactions()));
      queries.add(MultiGauge.Row.of(tags, stats.queries()));
    }));
    poolerClients.register(clients, true);
    poolerServers.register(servers, true);
    poolerWait.register(waits, true);
    poolerTransactions.register(transactions, true);
    poolerQueries.register(queries, true);
  }

  /** One row per cluster with spec.backup. */
  private List<MultiGauge.Row<?>> backupRows(ToDoubleFunction<dev.pgcluster.operator.api.v1alpha1.BackupStatus> value) {
    List<MultiGauge.Row<?>> rows = new ArrayList<>();
    latest.forEach((key, status) -> {
      double v = status.backup == null ? Double.NaN : value.applyAsDouble(status.backup);
      if (!Double.isNaN(v)) {  // unknown: no row rather than a NaN one
        rows.add(MultiGauge.Row.of(clusterTags(key), v));
      }
    });
    return rows;
  }

  private List<MultiGauge.Row<?>> instanceRows(ToDoubleFunction<InstanceStatus> value) {
    List<MultiGauge.Row<?>> rows = new ArrayList<>();
    latest.forEach((key, status) -> {
      Tags clusterTags = clusterTags(key);
      for (InstanceStatus instance : status.instances) {
        double v = value.applyAsDouble(instance);
        if (!Double.isNaN(v)) {  // no lag for a primary, none known yet for a standby: no row, not NaN
          rows.add(MultiGauge.Row.of(clusterTags.and("instance", instance.name), v));
        }
      }
    });
    return rows;
  }

  private List<MultiGauge.Row<?>> clusterRows(ToDoubleFunction<PgClusterStatus> value) {
    List<MultiGauge.Row<?>> rows = new ArrayList<>();
    latest.forEach((key, status) -> rows.add(MultiGauge.Row.of(clusterTags(key), value.applyAsDouble(status))));
    return rows;
  }

  /** From the key itself (namespace/name): a refresh on another thread may see a cluster being added. */
  private static Tags clusterTags(String key) {
    return Tags.of("namespace", key.substring(0, key.indexOf('/')), "cluster", key.substring(key.indexOf('/') + 1));
  }
}
