package dev.pgcluster.operator.reconcile;

import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.operator.ha.Action;
import dev.pgcluster.operator.ha.ClusterState;
import dev.pgcluster.operator.ha.InstanceState;
import dev.pgcluster.operator.lease.PrimaryLease;
import dev.pgcluster.operator.lease.PrimaryRecord;
import dev.pgcluster.operator.naming.PgClusterNames;
import dev.pgcluster.operator.observe.Credentials;
import dev.pgcluster.operator.postgres.InstanceProbe;
import dev.pgcluster.operator.postgres.PostgresConnector;
import dev.pgcluster.operator.render.Labels;
import io.fabric8.kubernetes.client.KubernetesClient;
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

  public Actuator(KubernetesClient client, PostgresConnector connector, PrimaryLease lease, EventRecorder events) {
    this.client = client;
    this.connector = connector;
    this.lease = lease;
    this.credentials = new Credentials(client);
    this.events = events;
  }

  public void execute(PgCluster cluster, ClusterState state, List<Action> actions) throws SQLException {
    String ns = cluster.getMetadata().getNamespace();
    PgClusterNames names = PgClusterNames.of(cluster);
    PrimaryRecord record = state.primary();
    for (Action action : actions) {
      if (action instanceof Action.SetRoleLabel label) {
        client.pods().inNamespace(ns).withName(label.pod())
            .edit(p -> {
              p.getMetadata().getLabels().put(Labels.ROLE, label.role().label());
              return p;
            });
        LOG.info("labelled pod {} as {}", label.pod(), label.role().label());
      } else if (action instanceof Action.MarkInitialized) {
        record = lease.markInitialized(ns, names.primaryLease(), record);
        events.normal(cluster, "ClusterInitialized", "primary " + record.holder() + " is up; the cluster is"
            + " initialized and initdb will never run again for it");
      } else if (action instanceof Action.RenewLease) {
        record = lease.renew(ns, names.primaryLease(), record, cluster.getSpec().failover.leaseDurationSeconds);
      }
    }
    List<Action> slotActions = actions.stream()
        .filter(a -> a instanceof Action.CreateSlot || a instanceof Action.DropSlot
            || a instanceof Action.ApplyPrimarySettings).toList();
    if (!slotActions.isEmpty()) {
      executeOnPrimary(cluster, state, slotActions);
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
          InstanceProbe.alterSystem(c, apply.settings());
          String before = apply.settings().keySet().stream()
              .map(k -> k + " '" + state.primarySettings().getOrDefault(k, "?") + "'").collect(
                  java.util.stream.Collectors.joining(", "));
          LOG.info("primary {}: set {} (was {}): {}", primary.name(), apply.settings(), before, apply.reason());
          events.normal(cluster, "SynchronousReplicationChanged", "primary " + primary.name() + ": "
              + apply.settings().entrySet().stream().map(e -> e.getKey() + " = '" + e.getValue() + "'")
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
