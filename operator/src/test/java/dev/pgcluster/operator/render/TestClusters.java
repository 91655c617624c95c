package dev.pgcluster.operator.render;

import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.operator.api.v1alpha1.PgClusterSpec;
import dev.pgcluster.operator.api.v1alpha1.StorageSpec;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;

/** PgCluster objects for tests, with every default the CRD would apply. */
public final class TestClusters {

  private TestClusters() {}

  public static PgCluster cluster(String name, int instances) {
    PgCluster cluster = new PgCluster();
    cluster.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace("db").withUid("uid-" + name)
        .withGeneration(1L).build());
    PgClusterSpec spec = new PgClusterSpec();
    spec.instances = instances;
    spec.storage = new StorageSpec();
    spec.storage.size = "1Gi";
    cluster.setSpec(spec);
    return cluster;
  }
}
