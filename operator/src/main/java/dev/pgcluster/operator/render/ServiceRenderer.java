package dev.pgcluster.operator.render;

import dev.pgcluster.operator.api.v1alpha1.InstanceRole;
import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.operator.naming.PgClusterNames;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.ServicePortBuilder;
import java.util.List;
import java.util.Map;

/**
 * The cluster's Services. -rw follows the primary, -ro the non-delayed standbys (delayed data would
 * surprise readers), -r any instance; the headless one gives pods stable DNS names.
 */
public final class ServiceRenderer {

  private ServiceRenderer() {}

  public static List<Service> all(PgCluster cluster) {
    PgClusterNames names = PgClusterNames.of(cluster);
    return List.of(
        headless(cluster),
        clusterIp(cluster, names.readWriteService(), Labels.roleSelector(cluster, InstanceRole.PRIMARY)),
        clusterIp(cluster, names.readOnlyService(), Labels.roleSelector(cluster, InstanceRole.REPLICA)),
        clusterIp(cluster, names.readAnyService(), Labels.clusterSelector(cluster)));
  }

  static Service headless(PgCluster cluster) {
    return new ServiceBuilder()
        .withMetadata(Owned.metadata(cluster, PgClusterNames.of(cluster).headlessService()))
        .withNewSpec()
        .withClusterIP("None")
        .withPublishNotReadyAddresses(true)
        .withSelector(Labels.clusterSelector(cluster))
        .withPorts(postgresPort())
        .endSpec()
        .build();
  }

  static Service clusterIp(PgCluster cluster, String name, Map<String, String> selector) {
    return new ServiceBuilder()
        .withMetadata(Owned.metadata(cluster, name))
        .withNewSpec()
        .withType("ClusterIP")
        .withSelector(selector)
        .withPorts(postgresPort())
        .endSpec()
        .build();
  }

  private static io.fabric8.kubernetes.api.model.ServicePort postgresPort() {
    return new ServicePortBuilder()
        .withName("postgres")
        .withProtocol("TCP")
        .withPort(PgClusterNames.POSTGRES_PORT)
        .withTargetPort(new IntOrString("postgres"))
        .build();
  }
}
