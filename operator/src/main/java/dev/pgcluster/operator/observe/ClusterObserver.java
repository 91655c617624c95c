package dev.pgcluster.operator.observe;

import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.operator.ha.ArchiveFacts;
import dev.pgcluster.operator.ha.ClusterState;
import dev.pgcluster.operator.ha.ConfigFacts;
import dev.pgcluster.operator.ha.InstanceFacts;
import dev.pgcluster.operator.ha.InstanceState;
import dev.pgcluster.operator.ha.PrimaryRecord;
import dev.pgcluster.operator.ha.SlotInfo;
import dev.pgcluster.operator.ha.StandbyConnection;
import dev.pgcluster.operator.naming.PgClusterNames;
import dev.pgcluster.operator.postgres.InstanceProbe;
import dev.pgcluster.operator.postgres.PostgresConnector;
import dev.pgcluster.operator.render.Labels;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Records what the cluster looks like right now, through the API (pods) and SQL (each instance). */
public final class ClusterObserver {
  private static final Logger LOG = LoggerFactory.getLogger(ClusterObserver.class);

  /** Settings the operator sets on the primary at run time (see SyncReplication). */
  static final List<String> MANAGED_SETTINGS = List.of("synchronous_standby_names", "synchronous_commit",
      "default_transaction_read_only", dev.pgcluster.operator.ha.SyncReplication.AGENT_FENCE_MARKER);

  private final KubernetesClient client;
  private final PostgresConnector connector;
  private final Credentials credentials;

  public ClusterObserver(KubernetesClient client, PostgresConnector connector, Credentials credentials) {
    this.client = client;
    this.connector = connector;
    this.credentials = credentials;
  }

  public ClusterState observe(PgCluster cluster, PrimaryRecord primary) {
    PgClusterNames names = PgClusterNames.of(cluster);
    String password = credentials.superuserPassword(cluster).orElse(null);
    String updateRevision = updateRevision(cluster);
    // In parallel: an observation lasts as long as the slowest instance (a connect timeout when one is
    // cut off), not the sum.
    List<InstanceProbes.Probe<Observed>> probes = new ArrayList<>();
    for (Pod pod : pods(cluster)) {
      int ordinal = names.ordinalOf(pod.getMetadata().getName());
      if (ordinal >= 0) {
        probes.add(InstanceProbes.submit(pod.getMetadata().getUid(),
            () -> observe(cluster, pod, ordinal, password, primary, updateRevision), o -> o.instance().facts() != null,
            why -> new Observed(instance(pod, ordinal, null, null, why, updateRevision), null, null, null, null)));
      }
    }
    List<InstanceState> instances = new ArrayList<>();
    List<SlotInfo> slots = List.of();
    List<StandbyConnection> standbys = List.of();
    java.util.Map<String, String> settings = java.util.Map.of();
    ArchiveFacts archive = ArchiveFacts.NONE;
    for (Observed observed : InstanceProbes.all(probes, connector.connectTimeout())) {
      instances.add(observed.instance());
      if (observed.settings() != null) {
        slots = observed.slots();
        standbys = observed.standbys();
        settings = observed.settings();
        archive = observed.archive() == null ? ArchiveFacts.NONE : observed.archive();
      }
    }
    instances.sort(Comparator.comparingInt(InstanceState::ordinal));
    return new ClusterState(primary, instances, slots, standbys, settings).withArchive(archive);
  }

  /** One instance; for the primary (the holder running as one) also its slots, standbys and settings. */
  private record Observed(InstanceState instance, List<SlotInfo> slots, List<StandbyConnection> standbys,
      java.util.Map<String, String> settings, ArchiveFacts archive) {}

  /** The scheduler's word on a pod it cannot place (PodScheduled False, reason Unschedulable). */
  static java.util.Optional<String> unschedulable(Pod pod) {
    if (pod.getStatus() == null || pod.getStatus().getConditions() == null) {
      return java.util.Optional.empty();
    }
    return pod.getStatus().getConditions().stream()
        .filter(c -> "PodScheduled".equals(c.getType()) && "False".equals(c.getStatus())
            && "Unschedulable".equals(c.getReason()))
        .findFirst().map(c -> InstanceState.UNSCHEDULABLE + (c.getMessage() == null ? "no node fits" : c.getMessage()));
  }

  private Observed observe(PgCluster cluster, Pod pod, int ordinal, String password, PrimaryRecord primary,
      String updateRevision) {
    String name = pod.getMetadata().getName();
    String ip = pod.getStatus() == null ? null : pod.getStatus().getPodIP();
    InstanceFacts facts = null;
    ConfigFacts config = null;
    String error = null;
    List<SlotInfo> slots = null;
    List<StandbyConnection> standbys = null;
    java.util.Map<String, String> settings = null;
    ArchiveFacts archive = null;
    if (ip == null || password == null) {
      error = ip == null ? unschedulable(pod).orElse("pod has no IP yet") : "superuser secret not readable";
    } else {
      try (Connection c = connector.connect(ip, PgClusterNames.POSTGRES_PORT, PgClusterNames.SUPERUSER, password)) {
        facts = InstanceProbe.read(c);
        config = readConfig(c, name);
        if (name.equals(primary.holder()) && !facts.inRecovery()) {
          slots = InstanceProbe.operatorSlots(c, PgClusterNames.SLOT_PREFIX);
          standbys = InstanceProbe.standbys(c);
          settings = InstanceProbe.settings(c, MANAGED_SETTINGS);
          archive = readArchive(c, name);
        }
      } catch (SQLException e) {
        error = e.getMessage();
        credentials.failed(cluster, e);
        LOG.debug("instance {} not reachable over SQL: {}", name, e.getMessage());
      }
    }
    return new Observed(instance(pod, ordinal, facts, config, error, updateRevision), slots, standbys, settings,
        archive);
  }

  /** Archiving facts are for the status: failing to read them must not make the primary look unreachable. */
  private static ArchiveFacts readArchive(Connection c, String name) {
    try {
      return InstanceProbe.archive(c, dev.pgcluster.operator.render.BackupRenderer.ARCHIVE_ERROR_FILE);
    } catch (SQLException e) {
      LOG.warn("could not read the archiving state of {}: {}", name, e.getMessage());
      return null;
    }
  }

  private static InstanceState instance(Pod pod, int ordinal, InstanceFacts facts, ConfigFacts config, String error,
      String updateRevision) {
    String role = pod.getMetadata().getLabels() == null ? null : pod.getMetadata().getLabels().get(Labels.ROLE);
    return new InstanceState(pod.getMetadata().getName(), ordinal, PodReadiness.isReady(pod),
        pod.getStatus() == null ? null : pod.getStatus().getPodIP(), role, facts, error, pod.getMetadata().getUid(),
        config, outdated(pod, updateRevision), rewindReport(pod), PodStartup.creating(pod, java.time.Instant.now()));
  }

  /** The StatefulSet's current pod template revision; null while unknown. */
  private String updateRevision(PgCluster cluster) {
    var sts = client.apps().statefulSets().inNamespace(cluster.getMetadata().getNamespace())
        .withName(PgClusterNames.of(cluster).statefulSet()).get();
    return sts == null || sts.getStatus() == null ? null : sts.getStatus().getUpdateRevision();
  }

  /** With OnDelete, a pod keeps the template it was created from until the operator restarts it. */
  static boolean outdated(Pod pod, String updateRevision) {
    String revision = pod.getMetadata().getLabels() == null ? null
        : pod.getMetadata().getLabels().get(REVISION_LABEL);
    return updateRevision != null && revision != null && !revision.equals(updateRevision);
  }

  /** The bootstrap init container's termination message, when it reported a rewind (JSON). */
  static String rewindReport(Pod pod) {
    if (pod.getStatus() == null || pod.getStatus().getInitContainerStatuses() == null) {
      return null;
    }
    return pod.getStatus().getInitContainerStatuses().stream()
        .filter(s -> dev.pgcluster.operator.render.StatefulSetRenderer.BOOTSTRAP_CONTAINER.equals(s.getName()))
        .map(s -> s.getState() == null || s.getState().getTerminated() == null ? null
            : s.getState().getTerminated().getMessage())
        .filter(m -> m != null && m.startsWith("{\"epoch\""))
        .findFirst().orElse(null);
  }

  /** Set by the StatefulSet controller on every pod it creates. */
  static final String REVISION_LABEL = "controller-revision-hash";

  /** Failing to read the configuration must not make a healthy instance look unreachable. */
  private static ConfigFacts readConfig(Connection c, String name) {
    try {
      return InstanceProbe.config(c);
    } catch (SQLException e) {
      LOG.warn("could not read the configuration state of {}: {}", name, e.getMessage());
      return null;
    }
  }

  List<Pod> pods(PgCluster cluster) {
    return client.pods().inNamespace(cluster.getMetadata().getNamespace())
        .withLabels(Labels.clusterSelector(cluster)).list().getItems();
  }
}
