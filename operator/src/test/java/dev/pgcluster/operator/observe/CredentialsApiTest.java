package dev.pgcluster.operator.observe;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.operator.api.v1alpha1.PgClusterSpec;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import java.sql.SQLException;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The superuser password is read once per period, and again as soon as PostgreSQL refuses it. */
@EnableKubernetesMockClient(crud = true)
class CredentialsApiTest {
  KubernetesClient client;
  private final AtomicLong nanos = new AtomicLong(1);
  private Credentials credentials;
  private PgCluster cluster;

  @BeforeEach
  void setUp() {
    credentials = new Credentials(client, nanos::get);
    cluster = new PgCluster();
    cluster.setMetadata(new ObjectMetaBuilder().withName("pg").withNamespace("db").build());
    cluster.setSpec(new PgClusterSpec());
    setPassword("first");
  }

  @Test
  void aPasswordIsKeptForAPeriod() {
    assertEquals(Optional.of("first"), credentials.superuserPassword(cluster));
    setPassword("second");
    assertEquals(Optional.of("first"), credentials.superuserPassword(cluster), "kept, not read again");
    nanos.addAndGet(Credentials.KEPT.toNanos());
    assertEquals(Optional.of("second"), credentials.superuserPassword(cluster), "read again after the period");
  }

  @Test
  void aRefusedPasswordIsReadAgainAtOnce() {
    assertEquals(Optional.of("first"), credentials.superuserPassword(cluster));
    setPassword("second");
    credentials.failed(cluster, new SQLException("connection refused", "08001"));
    assertEquals(Optional.of("first"), credentials.superuserPassword(cluster), "a network failure says nothing of it");
    credentials.failed(cluster, new SQLException("password authentication failed", "28P01"));
    assertEquals(Optional.of("second"), credentials.superuserPassword(cluster));
  }

  @Test
  void aMissingSecretIsNotRemembered() {
    client.secrets().inNamespace("db").withName("pg-superuser").delete();
    assertEquals(Optional.empty(), credentials.superuserPassword(cluster));
    setPassword("third");
    assertEquals(Optional.of("third"), credentials.superuserPassword(cluster));
  }

  private void setPassword(String password) {
    client.secrets().inNamespace("db").resource(new SecretBuilder()
        .withMetadata(new ObjectMetaBuilder().withName("pg-superuser").withNamespace("db").build())
        .addToStringData("password", password).build()).createOr(r -> r.update());
  }
}
