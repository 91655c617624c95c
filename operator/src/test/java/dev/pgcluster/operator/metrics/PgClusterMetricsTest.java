package dev.pgcluster.operator.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgcluster.operator.api.v1alpha1.InstanceRole;
import dev.pgcluster.operator.api.v1alpha1.InstanceStatus;
import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.operator.api.v1alpha1.PgClusterStatus;
import dev.pgcluster.operator.postgres.PoolerSql;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** What a Prometheus scrape of the operator sees: counters from the start, no NaN, steady series. */
class PgClusterMetricsTest {
  final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  final PgClusterMetrics metrics = new PgClusterMetrics(registry);

  static PgCluster cluster() {
    PgCluster cluster = new PgCluster();
    cluster.setMetadata(new ObjectMetaBuilder().withName("pg").withNamespace("db").build());
    return cluster;
  }

  static PgClusterStatus status() {
    PgClusterStatus status = new PgClusterStatus();
    status.readyInstances = 2;
    status.primaryEpoch = 0;
    InstanceStatus primary = new InstanceStatus();
    primary.name = "pg-0";
    primary.role = InstanceRole.PRIMARY;
    primary.ready = true;
    InstanceStatus standby = new InstanceStatus();
    standby.name = "pg-1";
    standby.role = InstanceRole.REPLICA;
    standby.ready = true;
    standby.lagBytes = 0L;
    standby.lagSeconds = 0.0;
    status.instances = List.of(primary, standby);
    return status;
  }

  @Test
  void theFailoverCounterIsThereAtZeroBeforeTheFirstFailover() {
    metrics.record(cluster(), status());
    String scrape = registry.scrape();
    assertTrue(scrape.contains("pgcluster_failovers_total{cluster=\"pg\",namespace=\"db\"} 0.0"), scrape);
    metrics.failoverStarted(cluster());
    assertTrue(registry.scrape().contains("pgcluster_failovers_total{cluster=\"pg\",namespace=\"db\"} 1.0"));
  }

  @Test
  void noRowIsNaNAndTheSeriesStayFromScrapeToScrape() {
    metrics.record(cluster(), status());
    metrics.poolers(cluster(), Map.of("pg-pooler-a", new PoolerSql.PoolerStats(3, 0, 2, 1, 0.0, 10, 12)));
    String first = registry.scrape();
    assertFalse(first.lines().anyMatch(l -> !l.startsWith("#") && l.endsWith("NaN")), first);
    assertFalse(first.contains("pgcluster_instance_lag_bytes{cluster=\"pg\",instance=\"pg-0\""),
        "a primary has no lag row: " + first);
    assertTrue(first.contains("pgcluster_instance_lag_bytes{cluster=\"pg\",instance=\"pg-1\",namespace=\"db\"} 0.0"), first);
    assertTrue(first.contains("pgcluster_pooler_clients{cluster=\"pg\",namespace=\"db\",pod=\"pg-pooler-a\","
        + "state=\"active\"} 3.0"), first);
    for (int i = 0; i < 3; i++) {
      metrics.record(cluster(), status());
      assertEquals(series(first), series(registry.scrape()), "series came or went between scrapes");
    }
  }

  @Test
  void theOperatorsRegistryCarriesTheJvmAndTheProcess() {
    String scrape = PgClusterMetrics.registry().scrape();
    for (String series : List.of("jvm_memory_used_bytes{", "jvm_threads_live_threads ", "jvm_gc_",
        "jvm_classes_loaded_classes ", "process_cpu_usage ", "process_uptime_seconds ", "process_files_open_files ",
        "system_cpu_count ")) {
      assertTrue(scrape.contains(series), series + " in " + scrape);
    }
  }

  @Test
  void subscriptionsAndSlotsOfLogicalReplicationAreExported() {
    PgClusterStatus status = status();
    status.logicalReplication = new dev.pgcluster.operator.api.v1alpha1.LogicalReplicationStatus();
    status.logicalReplication.subscriptions.add(new dev.pgcluster.operator.api.v1alpha1.LogicalReplicationStatus
        .LogicalSubscriptionStatus("from_dc2", "replicating", null));
    status.logicalReplication.subscriptions.add(new dev.pgcluster.operator.api.v1alpha1.LogicalReplicationStatus
        .LogicalSubscriptionStatus("from_dc3", "down", null));
    var slot = new dev.pgcluster.operator.api.v1alpha1.LogicalReplicationStatus.SlotStatus();
    slot.name = "pgl_app_dc1_from_dc1";
    slot.lagBytes = 4096L;
    status.logicalReplication.slots.add(slot);
    metrics.record(cluster(), status);
    String scrape = registry.scrape();
    assertTrue(scrape.contains("pgcluster_logical_subscription_replicating{cluster=\"pg\",namespace=\"db\","
        + "subscription=\"from_dc2\"} 1.0"), scrape);
    assertTrue(scrape.contains("pgcluster_logical_subscription_replicating{cluster=\"pg\",namespace=\"db\","
        + "subscription=\"from_dc3\"} 0.0"), scrape);
    assertTrue(scrape.contains("pgcluster_logical_slot_lag_bytes{cluster=\"pg\",namespace=\"db\","
        + "slot=\"pgl_app_dc1_from_dc1\"} 4096.0"), scrape);
  }

  /** The figures the shipped alerts compare: what the spec asks for next to what the status shows. */
  @Test
  void expectedAndActualSynchronousStandbysAndInstancesAreExported() {
    PgCluster cluster = cluster();
    cluster.setSpec(new dev.pgcluster.operator.api.v1alpha1.PgClusterSpec());
    cluster.getSpec().instances = 3;
    cluster.getSpec().replication = new dev.pgcluster.operator.api.v1alpha1.ReplicationSpec();
    cluster.getSpec().replication.mode = dev.pgcluster.operator.api.v1alpha1.ReplicationMode.SYNC;
    cluster.getSpec().replication.number = 2;
    PgClusterStatus status = status();
    status.initialized = true;
    status.instances.get(1).syncState = "quorum";
    InstanceStatus delayed = new InstanceStatus();
    delayed.name = "pg-2";
    delayed.role = InstanceRole.DELAYED_REPLICA;
    delayed.syncState = "async";
    status.instances = List.of(status.instances.get(0), status.instances.get(1), delayed);
    metrics.record(cluster, status);
    String scrape = registry.scrape();
    assertTrue(scrape.contains("pgcluster_instances_desired{cluster=\"pg\",namespace=\"db\"} 3.0"), scrape);
    assertTrue(scrape.contains("pgcluster_initialized{cluster=\"pg\",namespace=\"db\"} 1.0"), scrape);
    assertTrue(scrape.contains("pgcluster_synchronous_standbys{cluster=\"pg\",namespace=\"db\"} 1.0"), scrape);
    assertTrue(scrape.contains("pgcluster_synchronous_standbys_required{cluster=\"pg\",namespace=\"db\"} 2.0"), scrape);
    assertTrue(scrape.contains("pgcluster_instance_delayed{cluster=\"pg\",instance=\"pg-2\",namespace=\"db\"} 1.0"), scrape);
    assertTrue(scrape.contains("pgcluster_instance_delayed{cluster=\"pg\",instance=\"pg-1\",namespace=\"db\"} 0.0"), scrape);

    cluster.getSpec().replication.mode = dev.pgcluster.operator.api.v1alpha1.ReplicationMode.ASYNC;
    metrics.record(cluster, status);
    assertTrue(registry.scrape().contains("pgcluster_synchronous_standbys_required{cluster=\"pg\",namespace=\"db\"} 0.0"),
        "asynchronous replication requires none");
    metrics.forget("db", "pg");
    assertFalse(registry.scrape().contains("pgcluster_instances_desired{"), "a deleted cluster's rows go");
  }

  private static Set<String> series(String scrape) {
    Set<String> out = new TreeSet<>();
    scrape.lines().filter(l -> l.startsWith("pgcluster_")).forEach(l -> out.add(l.substring(0, l.lastIndexOf(' '))));
    return out;
  }
}
