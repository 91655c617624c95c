package dev.pgcluster.operator.render;

import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.operator.naming.PgClusterNames;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.ServiceAccountBuilder;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.api.model.rbac.RoleBindingBuilder;
import io.fabric8.kubernetes.api.model.rbac.RoleBuilder;

/**
 * What the instance pods may do with the API: their agent reads and renews the cluster's primary
 * Lease (not other Leases of the namespace), and takes the base backups assigned to its pod.
 */
public final class InstanceRbacRenderer {

  private InstanceRbacRenderer() {}

  public static ServiceAccount serviceAccount(PgCluster cluster) {
    io.fabric8.kubernetes.api.model.ObjectMeta metadata =
        Owned.metadata(cluster, PgClusterNames.of(cluster).instanceServiceAccount());
    var extra = cluster.getSpec().serviceAccountMetadata;
    if (extra != null) {
      // The user's labels, then the operator's (the operator's win; the schema refuses them anyway).
      java.util.Map<String, String> labels = new java.util.LinkedHashMap<>();
      if (extra.labels != null) {
        labels.putAll(extra.labels);
      }
      labels.putAll(metadata.getLabels());
      metadata.setLabels(labels);
      metadata.setAnnotations(extra.annotations == null ? null : new java.util.LinkedHashMap<>(extra.annotations));
    }
    return new ServiceAccountBuilder().withMetadata(metadata).build();
  }

  public static Role role(PgCluster cluster) {
    PgClusterNames names = PgClusterNames.of(cluster);
    return new RoleBuilder()
        .withMetadata(Owned.metadata(cluster, names.instanceServiceAccount()))
        .addNewRule()
        .withApiGroups("coordination.k8s.io")
        .withResources("leases")
        .withResourceNames(names.primaryLease())
        .withVerbs("get", "update")
        .endRule()
        // The agent of the primary takes the base backups assigned to it and records their outcome.
        .addNewRule()
        .withApiGroups(PgCluster.GROUP)
        .withResources("pgbackups")
        .withVerbs("get", "list")
        .endRule()
        .addNewRule()
        .withApiGroups(PgCluster.GROUP)
        .withResources("pgbackups/status")
        .withVerbs("update")
        .endRule()
        .build();
  }

  public static RoleBinding roleBinding(PgCluster cluster) {
    PgClusterNames names = PgClusterNames.of(cluster);
    return new RoleBindingBuilder()
        .withMetadata(Owned.metadata(cluster, names.instanceServiceAccount()))
        .withNewRoleRef().withApiGroup("rbac.authorization.k8s.io").withKind("Role")
        .withName(names.instanceServiceAccount()).endRoleRef()
        .addNewSubject().withKind("ServiceAccount").withName(names.instanceServiceAccount())
        .withNamespace(cluster.getMetadata().getNamespace()).endSubject()
        .build();
  }
}
