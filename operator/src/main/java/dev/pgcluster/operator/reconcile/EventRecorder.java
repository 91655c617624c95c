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

  /** An event repeated within this long counts up on the same Event; later, a new one is made. */
  static final java.time.Duration SERIES_WINDOW = java.time.Duration.ofMinutes(30);
  private static final int SERIES_KEPT = 2048;

  private final KubernetesClient client;
  private final String reportingInstance;
  /** Per object, type, reason and message: the Event recorded last, its count and when it started. */
  private final java.util.Map<String, Series> series = java.util.Collections.synchronizedMap(
      new java.util.LinkedHashMap<>(64, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(java.util.Map.Entry<String, Series> eldest) {
          return size() > SERIES_KEPT;
        }
      });

  private record Series(String name, int count, Instant first) {}

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

  /**
   * The same event again (same cluster, type, reason and message) within SERIES_WINDOW raises the count
   * and last timestamp of the Event already recorded, as kubelet and client-go do, rather than adding one.
   */
  private void record(PgCluster cluster, String type, String reason, String message) {
    Instant at = Instant.now().truncatedTo(ChronoUnit.SECONDS);
    String now = at.toString();
    String namespace = cluster.getMetadata().getNamespace();
    String key = cluster.getMetadata().getUid() + "/" + namespace + "/" + cluster.getMetadata().getName() + "/" + type
        + "/" + reason + "/" + message;
    Series last = series.get(key);
    if (last != null && java.time.Duration.between(last.first(), at).compareTo(SERIES_WINDOW) < 0) {
      try {
        client.v1().events().inNamespace(namespace).withName(last.name()).edit(e -> new EventBuilder(e)
            .withCount(last.count() + 1).withLastTimestamp(now).build());
        series.put(key, new Series(last.name(), last.count() + 1, last.first()));
        return;
      } catch (RuntimeException e) {
        // Gone (events expire) or not ours any more: a new one below.
        LOG.debug("event {} not counted up: {}", last.name(), e.getMessage());
      }
    }
    String name = cluster.getMetadata().getName() + "." + UUID.randomUUID().toString().substring(0, 13);
    try {
      client.v1().events().inNamespace(cluster.getMetadata().getNamespace()).resource(new EventBuilder()
          .withNewMetadata()
          .withName(name)
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
      series.put(key, new Series(name, 1, at));
    } catch (RuntimeException e) {
      LOG.warn("could not record event {} ({}): {}", reason, message, e.getMessage());
    }
  }
}
