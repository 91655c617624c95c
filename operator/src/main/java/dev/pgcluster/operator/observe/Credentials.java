package dev.pgcluster.operator.observe;

import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.operator.naming.PgClusterNames;
import dev.pgcluster.operator.render.SecretRenderer;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * The superuser password the operator uses for its own SQL, read from its Secret and kept for
 * {@link #KEPT} (every probe of every instance needs it, once a second): one Secret read per cluster
 * and period instead of one per connection. A password PostgreSQL refuses is forgotten at once, so a
 * changed Secret is read again at the first failed login.
 */
public final class Credentials {
  static final Duration KEPT = Duration.ofSeconds(30);

  private record Kept(String password, long readAt) {}

  private final KubernetesClient client;
  private final LongSupplier nanos;
  private final Map<String, Kept> kept = new ConcurrentHashMap<>();

  public Credentials(KubernetesClient client) {
    this(client, System::nanoTime);
  }

  Credentials(KubernetesClient client, LongSupplier nanos) {
    this.client = client;
    this.nanos = nanos;
  }

  public Optional<String> superuserPassword(PgCluster cluster) {
    String name = cluster.getSpec().bootstrap.superuserSecret != null
        ? cluster.getSpec().bootstrap.superuserSecret
        : PgClusterNames.of(cluster).superuserSecret();
    String key = cluster.getMetadata().getNamespace() + "/" + name;
    Kept known = kept.get(key);
    long now = nanos.getAsLong();
    if (known != null && now - known.readAt() < KEPT.toNanos()) {
      return Optional.of(known.password());
    }
    Secret secret = client.secrets().inNamespace(cluster.getMetadata().getNamespace()).withName(name).get();
    Optional<String> password = Optional.ofNullable(secret).flatMap(Credentials::password);
    password.ifPresentOrElse(p -> kept.put(key, new Kept(p, now)), () -> kept.remove(key));
    return password;
  }

  /** After a failed connection: a refused password is read from the Secret again next time. */
  public void failed(PgCluster cluster, SQLException e) {
    // Class 28: invalid authorization specification (28P01: invalid password).
    if (e.getSQLState() != null && e.getSQLState().startsWith("28")) {
      String prefix = cluster.getMetadata().getNamespace() + "/";
      kept.keySet().removeIf(k -> k.startsWith(prefix));
    }
  }

  static Optional<String> password(Secret secret) {
    return SecretValues.value(secret, SecretRenderer.PASSWORD);
  }
}
