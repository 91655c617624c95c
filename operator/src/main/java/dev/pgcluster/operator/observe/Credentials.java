package dev.pgcluster.operator.observe;

import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.operator.naming.PgClusterNames;
import dev.pgcluster.operator.render.SecretRenderer;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Optional;

/** Reads the superuser password the operator uses for its own SQL. */
public final class Credentials {
  private final KubernetesClient client;

  public Credentials(KubernetesClient client) {
    this.client = client;
  }

  public Optional<String> superuserPassword(PgCluster cluster) {
    String name = cluster.getSpec().bootstrap.superuserSecret != null
        ? cluster.getSpec().bootstrap.superuserSecret
        : PgClusterNames.of(cluster).superuserSecret();
    Secret secret = client.secrets().inNamespace(cluster.getMetadata().getNamespace()).withName(name).get();
    return Optional.ofNullable(secret).flatMap(Credentials::password);
  }

  static Optional<String> password(Secret secret) {
    if (secret.getData() != null && secret.getData().get(SecretRenderer.PASSWORD) != null) {
      return Optional.of(new String(Base64.getDecoder().decode(secret.getData().get(SecretRenderer.PASSWORD)),
          StandardCharsets.UTF_8));
    }
    if (secret.getStringData() != null) {
      return Optional.ofNullable(secret.getStringData().get(SecretRenderer.PASSWORD));
    }
    return Optional.empty();
  }
}
