package dev.pgcluster.operator.render;

import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.operator.api.v1alpha1.PgClusterSpec;
import dev.pgcluster.operator.api.v1alpha1.SyncMethod;
import dev.pgcluster.operator.naming.PgClusterNames;
import java.util.ArrayList;
import java.util.List;

/**
 * synchronous_standby_names over every non-delayed instance. The primary's own name may appear in the
 * list: it never connects as a standby, so it never counts, and the value stays right after a change
 * of primary without a re-render.
 */
public final class SyncStandbyNames {

  private SyncStandbyNames() {}

  public static String render(PgCluster cluster) {
    PgClusterSpec spec = cluster.getSpec();
    PgClusterNames names = PgClusterNames.of(cluster);
    List<String> members = new ArrayList<>();
    for (int ordinal = 0; ordinal < promotableInstances(spec); ordinal++) {
      members.add('"' + names.pod(ordinal) + '"');
    }
    String method = spec.replication.method == SyncMethod.FIRST ? "FIRST" : "ANY";
    return method + " " + spec.replication.number + " (" + String.join(", ", members) + ")";
  }

  /** Instances with ordinal below this are promotable; the rest are delayed standbys. */
  public static int promotableInstances(PgClusterSpec spec) {
    return spec.instances - delayedInstances(spec);
  }

  public static int delayedInstances(PgClusterSpec spec) {
    return spec.replication.delayedReplicas == null ? 0 : spec.replication.delayedReplicas.instances;
  }
}
