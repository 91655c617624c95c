package dev.pgcluster.operator.observe;

import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.operator.ha.GrantWatch;
import dev.pgcluster.operator.ha.InstanceFacts;
import dev.pgcluster.operator.ha.PrimaryRecord;
import dev.pgcluster.operator.lease.PrimaryLease;
import dev.pgcluster.operator.naming.PgClusterNames;
import dev.pgcluster.operator.postgres.InstanceProbe;
import dev.pgcluster.operator.postgres.PostgresConnector;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import io.javaoperatorsdk.operator.processing.event.source.polling.PerResourcePollingConfigurationBuilder;
import io.javaoperatorsdk.operator.processing.event.source.polling.PerResourcePollingEventSource;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * PostgreSQL is not a Kubernetes object, so its health gets its own event source: every cluster is
 * probed each {@code spec.failover.probePeriodSeconds}, and a change in any instance's coarse health
 * triggers a reconcile at once instead of waiting for a resync.
 */
public final class HealthPoller implements PerResourcePollingEventSource.ResourceFetcher<InstanceHealth, PgCluster> {
  public static final String NAME = "postgres-health";
  /** The entry that stands for the primary's grant (reachable = still renewed) among the instances. */
  static final String GRANT = "primary-grant";

  private final InformerEventSource<Pod, PgCluster> pods;
  private final PostgresConnector connector;
  private final Credentials credentials;
  private final PrimaryLease leases;
  private final GrantWatch grants;

  public HealthPoller(KubernetesClient client, InformerEventSource<Pod, PgCluster> pods, PostgresConnector connector,
      Credentials credentials, GrantWatch grants) {
    this.pods = pods;
    this.connector = connector;
    this.credentials = credentials;
    this.leases = new PrimaryLease(client, java.time.Clock.systemUTC());
    this.grants = grants;
  }

  public static PerResourcePollingEventSource<InstanceHealth, PgCluster, String> eventSource(
      EventSourceContext<PgCluster> context, KubernetesClient client, InformerEventSource<Pod, PgCluster> pods,
      PostgresConnector connector, Credentials credentials, GrantWatch grants) {
    var config = new PerResourcePollingConfigurationBuilder<InstanceHealth, PgCluster, String>(
        new HealthPoller(client, pods, connector, credentials, grants), Duration.ofSeconds(1))
        .withName(NAME)
        .withResourceIDMapper(InstanceHealth::pod)
        .build();
    return new PerResourcePollingEventSource<>(InstanceHealth.class, context, config);
  }

  @Override
  public Set<InstanceHealth> fetchResources(PgCluster cluster) {
    Set<InstanceHealth> result = new HashSet<>();
    // The primary's grant, looked at every probe period so that its end is seen within one: a primary
    // cut off from the API server (and so fenced by its agent) answers SQL probes like a healthy one.
    // Read before the probes, which may wait for a connect timeout: a renewal is seen when it is read.
    Optional<PrimaryRecord> record = leases.read(cluster.getMetadata().getNamespace(),
        PgClusterNames.of(cluster).primaryLease());
    long readAt = grants.now();
    Optional<String> password = credentials.superuserPassword(cluster);
    List<InstanceProbes.Probe<InstanceHealth>> probes = new java.util.ArrayList<>();
    // Pods from the informer's cache: once a second per cluster, a LIST would be most of the operator's
    // API traffic at idle. (The reconcile's own observation lists them from the API server.)
    java.util.Map<String, String> selector = dev.pgcluster.operator.render.Labels.clusterSelector(cluster);
    for (Pod pod : pods.list(cluster.getMetadata().getNamespace(), p -> p.getMetadata().getLabels() != null
        && p.getMetadata().getLabels().entrySet().containsAll(selector.entrySet())).toList()) {
      String name = pod.getMetadata().getName();
      String ip = pod.getStatus() == null ? null : pod.getStatus().getPodIP();
      probes.add(InstanceProbes.submit(pod.getMetadata().getUid(), () -> probe(cluster, name, ip, password.orElse(null)),
          InstanceHealth::reachable, why -> new InstanceHealth(name, false, false, 0)));
    }
    result.addAll(InstanceProbes.all(probes, connector.connectTimeout()));
    record.ifPresent(primary -> {
      boolean holderRunsAsPrimary = result.stream()
          .anyMatch(h -> h.pod().equals(primary.holder()) && h.reachable() && !h.inRecovery());
      GrantWatch.Grant grant = grants.observe(cluster.getMetadata().getNamespace() + "/"
          + cluster.getMetadata().getName(), primary, holderRunsAsPrimary, readAt);
      // "Reachable" while renewed on time: a holder that stops renewing gets a reconcile at once, which
      // times the failover to its agent's fence deadline.
      result.add(new InstanceHealth(GRANT, grant.holderRenewing() && !grant.holderFenced(),
          !grant.formerGrantLeft().isZero(), primary.epoch()));
    });
    return result;
  }

  @Override
  public Optional<Duration> fetchDelay(Set<InstanceHealth> lastFetched, PgCluster cluster) {
    return Optional.of(Duration.ofSeconds(cluster.getSpec().failover.probePeriodSeconds));
  }

  private InstanceHealth probe(PgCluster cluster, String pod, String ip, String password) {
    if (ip == null || password == null) {
      return new InstanceHealth(pod, false, false, 0);
    }
    try (Connection c = connector.connect(ip, PgClusterNames.POSTGRES_PORT, PgClusterNames.SUPERUSER, password)) {
      InstanceFacts facts = InstanceProbe.read(c);
      return new InstanceHealth(pod, true, facts.inRecovery(), facts.timeline());
    } catch (SQLException e) {
      credentials.failed(cluster, e);
      return new InstanceHealth(pod, false, false, 0);
    }
  }
}
