package dev.pgcluster.operator.render;

import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;

/** Metadata of objects owned by a cluster: garbage-collected with it (PVCs, Secrets, Lease excepted, see docs). */
public final class Owned {

  private Owned() {}

  public static ObjectMeta metadata(PgCluster cluster, String name) {
    return new ObjectMetaBuilder()
        .withName(name)
        .withNamespace(cluster.getMetadata().getNamespace())
        .withLabels(Labels.common(cluster))
        .withOwnerReferences(ownerReference(cluster))
        .build();
  }

  /**
   * Metadata of what belongs with the data rather than with the resource (the generated credentials,
   * and the primary Lease): not owned, so kept like the volumes when the PgCluster is deleted, and found
   * again when it is applied anew. Removed with the volumes: {@code kubectl delete pvc,secret,lease -l
   * pgcluster.dev/cluster=<name>}.
   */
  public static ObjectMeta keptMetadata(PgCluster cluster, String name) {
    return new ObjectMetaBuilder()
        .withName(name)
        .withNamespace(cluster.getMetadata().getNamespace())
        .withLabels(Labels.common(cluster))
        .build();
  }

  public static OwnerReference ownerReference(PgCluster cluster) {
    return new OwnerReferenceBuilder()
        .withApiVersion(cluster.getApiVersion())
        .withKind(cluster.getKind())
        .withName(cluster.getMetadata().getName())
        .withUid(cluster.getMetadata().getUid())
        .withController(true)
        .withBlockOwnerDeletion(true)
        .build();
  }
}
