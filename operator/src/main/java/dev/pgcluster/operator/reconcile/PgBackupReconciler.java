package dev.pgcluster.operator.reconcile;

import dev.pgcluster.operator.api.v1alpha1.ClusterPhase;
import dev.pgcluster.operator.api.v1alpha1.PgBackup;
import dev.pgcluster.operator.api.v1alpha1.PgBackupStatus;
import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.operator.backup.BackupAssignment;
import dev.pgcluster.operator.render.BackupRenderer;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * PgBackup: hands each requested backup to the primary's agent, which runs pgBackRest and records the
 * outcome; fails it when it cannot be taken or when the primary changed under it.
 */
@ControllerConfiguration(name = "pgbackup")
public class PgBackupReconciler implements Reconciler<PgBackup> {
  private static final Logger LOG = LoggerFactory.getLogger(PgBackupReconciler.class);
  /** How often a waiting or running backup is looked at (the primary may change meanwhile). */
  static final Duration RECHECK = Duration.ofSeconds(10);

  private final KubernetesClient client;
  private final EventRecorder events;

  public PgBackupReconciler(KubernetesClient client, EventRecorder events) {
    this.client = client;
    this.events = events;
  }

  @Override
  public UpdateControl<PgBackup> reconcile(PgBackup backup, Context<PgBackup> context) {
    String namespace = backup.getMetadata().getNamespace();
    String clusterName = backup.getSpec().cluster;
    PgCluster cluster = client.resources(PgCluster.class).inNamespace(namespace).withName(clusterName).get();
    BackupAssignment.Step step = BackupAssignment.decide(clusterName, backup.getStatus(), view(cluster));
    PgBackupStatus status = backup.getStatus() == null ? new PgBackupStatus() : backup.getStatus();
    if (step instanceof BackupAssignment.Keep) {
      return PgBackupStatus.PENDING.equals(status.phase) || PgBackupStatus.RUNNING.equals(status.phase)
          ? UpdateControl.<PgBackup>noUpdate().rescheduleAfter(RECHECK) : UpdateControl.noUpdate();
    }
    if (step instanceof BackupAssignment.Fail fail) {
      status.phase = PgBackupStatus.FAILED;
      status.message = fail.message();
      LOG.warn("backup {}/{} failed: {}", namespace, backup.getMetadata().getName(), fail.message());
      if (cluster != null) {
        events.warning(cluster, EventReasons.BACKUP_FAILED, "backup " + backup.getMetadata().getName() + ": "
            + fail.message());
      }
    } else if (step instanceof BackupAssignment.Assign assign) {
      status.phase = PgBackupStatus.PENDING;
      status.instance = assign.instance();
      status.message = "assigned to " + assign.instance() + "'s agent";
      LOG.info("backup {}/{} assigned to {}", namespace, backup.getMetadata().getName(), assign.instance());
    } else if (step instanceof BackupAssignment.Wait wait) {
      if (wait.message().equals(status.message)) {
        return UpdateControl.<PgBackup>noUpdate().rescheduleAfter(RECHECK);
      }
      status.phase = PgBackupStatus.PENDING;
      status.message = wait.message();
    }
    backup.setStatus(status);
    // The read resourceVersion guards against overwriting the agent's outcome.
    client.resources(PgBackup.class).inNamespace(namespace).resource(backup).updateStatus();
    return PgBackupStatus.FAILED.equals(status.phase) ? UpdateControl.noUpdate()
        : UpdateControl.<PgBackup>noUpdate().rescheduleAfter(RECHECK);
  }

  static BackupAssignment.Cluster view(PgCluster cluster) {
    if (cluster == null) {
      return null;
    }
    var status = cluster.getStatus();
    boolean initialized = status != null && Boolean.TRUE.equals(status.initialized);
    boolean healthy = status != null && status.phase != null && status.phase != ClusterPhase.Unavailable
        && status.phase != ClusterPhase.Initializing;
    return new BackupAssignment.Cluster(BackupRenderer.enabled(cluster), initialized,
        status == null ? null : status.currentPrimary, healthy);
  }
}
