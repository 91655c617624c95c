package dev.pgcluster.operator.render;

import dev.pgcluster.operator.api.v1alpha1.InstanceRole;
import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import java.util.LinkedHashMap;
import java.util.Map;

/** Labels the operator puts on everything it renders, and the selectors built from them. */
public final class Labels {
  public static final String NAME = "app.kubernetes.io/name";
  public static final String INSTANCE = "app.kubernetes.io/instance";
  public static final String MANAGED_BY = "app.kubernetes.io/managed-by";
  public static final String COMPONENT = "app.kubernetes.io/component";
  public static final String CLUSTER = "pgcluster.dev/cluster";
  /** Projection of the primary Lease onto pods: the Services select on it. */
  public static final String ROLE = "pgcluster.dev/role";
  public static final String MANAGER = "pgcluster-operator";

  private Labels() {}

  /** Labels common to every object of a cluster. */
  public static Map<String, String> common(PgCluster cluster) {
    Map<String, String> labels = new LinkedHashMap<>();
    labels.put(NAME, "postgresql");
    labels.put(INSTANCE, cluster.getMetadata().getName());
    labels.put(MANAGED_BY, MANAGER);
    labels.put(CLUSTER, cluster.getMetadata().getName());
    return labels;
  }

  /** Selects every pod of a cluster. */
  public static Map<String, String> clusterSelector(PgCluster cluster) {
    return Map.of(CLUSTER, cluster.getMetadata().getName());
  }

  /** Selects the pods of a cluster currently holding a role. */
  public static Map<String, String> roleSelector(PgCluster cluster, InstanceRole role) {
    Map<String, String> selector = new LinkedHashMap<>(clusterSelector(cluster));
    selector.put(ROLE, role.label());
    return selector;
  }
}
