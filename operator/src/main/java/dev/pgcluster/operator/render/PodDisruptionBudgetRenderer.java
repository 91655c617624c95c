package dev.pgcluster.operator.render;

import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.operator.naming.PgClusterNames;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudgetBuilder;

/** Voluntary disruptions (node drains) take at most one instance at a time. */
public final class PodDisruptionBudgetRenderer {

  private PodDisruptionBudgetRenderer() {}

  public static PodDisruptionBudget render(PgCluster cluster) {
    return new PodDisruptionBudgetBuilder()
        .withMetadata(Owned.metadata(cluster, PgClusterNames.of(cluster).podDisruptionBudget()))
        .withNewSpec()
        .withMaxUnavailable(new IntOrString(1))
        .withNewSelector().withMatchLabels(Labels.clusterSelector(cluster)).endSelector()
        .endSpec()
        .build();
  }
}
