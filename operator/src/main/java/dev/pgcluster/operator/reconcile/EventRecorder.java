package dev.pgcluster.operator.reconcile;

import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.ObjectReferenceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Kubernetes Events on a PgCluster, mirrored in the log. Failing to record one never fails a reconcile. */
public final class EventRecorder {
  private static final Logger LOG = LoggerFactory.getLogger(EventRecorder.class);
  public static final String COMPONENT = "pgcluster-operator";

  private final KubernetesClient client;
  private final String reportingInstance;

  public EventRecorder(KubernetesClient client, String reportingInstance) {
    this.client = client;
    this.reportingInstance = reportingInstance;
  }

  public void normal(PgCluster cluster, String reason, String message) {
    LOG.info("{}: {}", reason, message);
    record(cluster, "Normal", reason, message);
  }

  public void warning(PgCluster cluster, String reason, String message) {
    LOG.warn("{}: {}", reason, message);
    record(cluster, "Warning", reason, message);
  }

  private void record(PgCluster cluster, String type, String reason, String message) {
    String now = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
    try {
      client.v1().events().inNamespace(cluster.getMetadata().getNamespace()).resource(new EventBuilder()
          .withNewMetadata()
          .withName(cluster.getMetadata().getName() + "." + UUID.randomUUID().toString().substring(0, 13))
          .withNamespace(cluster.getMetadata().getNamespace())
          .endMetadata()
          .withInvolvedObject(new ObjectReferenceBuilder()
              .withApiVersion(cluster.getApiVersion()).withKind(cluster.getKind())
              .withName(cluster.getMetadata().getName()).withNamespace(cluster.getMetadata().getNamespace())
              .withUid(cluster.getMetadata().getUid()).build())
          .withType(type)
          .withReason(reason)
          .withMessage(message)
          .withFirstTimestamp(now)
          .withLastTimestamp(now)
          .withCount(1)
          .withNewSource().withComponent(COMPONENT).endSource()
          .withReportingComponent(COMPONENT)
          .withReportingInstance(reportingInstance)
          .build()).create();
    } catch (RuntimeException e) {
      LOG.warn("could not record event {} ({}): {}", reason, message, e.getMessage());
    }
  }
}
