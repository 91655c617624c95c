package dev.pgcluster.operator.render;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.operator.api.v1alpha1.PoolMode;
import dev.pgcluster.operator.api.v1alpha1.PoolerSpec;
import dev.pgcluster.operator.api.v1alpha1.TlsSpec;
import dev.pgcluster.operator.reconcile.SpecValidator;
import dev.pgcluster.operator.render.PoolerRenderer.Target;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import java.util.List;
import org.junit.jupiter.api.Test;

class PoolerRendererTest {

  static PgCluster pooled() {
    PgCluster cluster = TestClusters.cluster("shop", 3);
    cluster.getSpec().pooler = new PoolerSpec();
    return cluster;
  }

  @Test
  void pgbouncerPointsAtTheReadWriteServiceAndLooksPasswordsUp() {
    PgCluster cluster = pooled();
    cluster.getSpec().pooler.poolMode = PoolMode.TRANSACTION;
    cluster.getSpec().pooler.defaultPoolSize = 7;
    String ini = PoolerRenderer.ini(cluster, Target.READ_WRITE);
    assertTrue(ini.contains("* = host=shop-rw port=5432"), ini);
    assertTrue(ini.contains("pool_mode = transaction"), ini);
    assertTrue(ini.contains("default_pool_size = 7"), ini);
    assertTrue(ini.contains("auth_user = pgcluster_pooler"), ini);
    assertTrue(ini.contains("auth_query = SELECT usename, passwd FROM pgcluster_pooler.lookup($1)"), ini);
    assertFalse(ini.contains("auth_file"), "the pod writes its auth_file from its Secret: " + ini);
  }

  @Test
  void poolerPodsAreNotSelectedByTheInstanceServicesOrTheirBudget() {
    PgCluster cluster = pooled();
    Deployment deployment = PoolerRenderer.deployment(cluster, "h1", Target.READ_WRITE);
    var labels = deployment.getSpec().getTemplate().getMetadata().getLabels();
    assertNull(labels.get(Labels.CLUSTER), "the -r Service, the observer and the PDB select on the cluster label");
    assertEquals("shop", labels.get(PoolerRenderer.POOLER_LABEL));
    assertEquals(PoolerRenderer.podSelector(cluster, Target.READ_WRITE), deployment.getSpec().getSelector().getMatchLabels());
    assertEquals(PoolerRenderer.podSelector(cluster, Target.READ_WRITE), PoolerRenderer.service(cluster, Target.READ_WRITE).getSpec().getSelector());
    assertEquals("shop-pooler-rw", PoolerRenderer.service(cluster, Target.READ_WRITE).getMetadata().getName());
    assertEquals(2, deployment.getSpec().getReplicas());
    assertEquals(0, deployment.getSpec().getStrategy().getRollingUpdate().getMaxUnavailable().getIntVal());
  }

  @Test
  void theReadOnlyPoolerIsInFrontOfTheStandbysWithReadOnlySessionsAndItsOwnSelector() {
    PgCluster cluster = pooled();
    cluster.getSpec().pooler.readOnlyInstances = 3;
    cluster.getSpec().pooler.poolMode = PoolMode.TRANSACTION;
    String ini = PoolerRenderer.ini(cluster, Target.READ_ONLY);
    assertTrue(ini.contains("* = host=shop-ro port=5432 connect_query='SET default_transaction_read_only = on'"), ini);
    assertFalse(ini.contains("server_reset_query"), "transaction mode resets nothing between clients: " + ini);
    assertEquals(ini, PoolerRenderer.configMap(cluster, Target.READ_ONLY).getData().get(PoolerRenderer.INI));
    assertEquals("shop-pooler-ro", PoolerRenderer.configMap(cluster, Target.READ_ONLY).getMetadata().getName());
    Deployment ro = PoolerRenderer.deployment(cluster, "h1", Target.READ_ONLY);
    Deployment rw = PoolerRenderer.deployment(cluster, "h1", Target.READ_WRITE);
    assertEquals("shop-pooler-ro", ro.getMetadata().getName());
    assertEquals(3, ro.getSpec().getReplicas());
    assertEquals("shop-pooler-ro", ro.getSpec().getTemplate().getSpec().getVolumes().stream()
        .filter(v -> v.getName().equals("config")).findFirst().orElseThrow().getConfigMap().getName());
    assertEquals("shop-pooler-ro", PoolerRenderer.service(cluster, Target.READ_ONLY).getMetadata().getName());
    var roLabels = ro.getSpec().getTemplate().getMetadata().getLabels();
    var rwLabels = rw.getSpec().getTemplate().getMetadata().getLabels();
    // Neither Service selects the other's pods.
    assertFalse(roLabels.entrySet().containsAll(PoolerRenderer.service(cluster, Target.READ_WRITE).getSpec()
        .getSelector().entrySet()), roLabels.toString());
    assertFalse(rwLabels.entrySet().containsAll(PoolerRenderer.service(cluster, Target.READ_ONLY).getSpec()
        .getSelector().entrySet()), rwLabels.toString());
    assertTrue(roLabels.entrySet().containsAll(ro.getSpec().getSelector().getMatchLabels().entrySet()));
    assertNull(roLabels.get(Labels.CLUSTER));
    cluster.getSpec().pooler.readOnlyInstances = 21;
    assertTrue(SpecValidator.validate(cluster.getSpec()).contains("pooler.readOnlyInstances (21) must be between 0 and 20"));
  }

  /** In session mode a released connection is reset for the next client: read-only again after the reset. */
  @Test
  void inSessionModeTheReadOnlyPoolersResetKeepsSessionsReadOnly() {
    PgCluster cluster = pooled();
    cluster.getSpec().pooler.readOnlyInstances = 1;
    String ini = PoolerRenderer.ini(cluster, Target.READ_ONLY);
    String reset = ini.lines().filter(l -> l.startsWith("server_reset_query = ")).findFirst().orElseThrow();
    assertTrue(reset.endsWith("; SET default_transaction_read_only = on"), reset);
    assertFalse(reset.contains("DISCARD ALL"), "DISCARD ALL cannot share a query: " + reset);
    for (String part : List.of("CLOSE ALL", "RESET ALL", "DEALLOCATE ALL", "UNLISTEN *", "pg_advisory_unlock_all()",
        "DISCARD PLANS", "DISCARD TEMP", "DISCARD SEQUENCES", "SET SESSION AUTHORIZATION DEFAULT")) {
      assertTrue(reset.contains(part), part + " (a part of DISCARD ALL) in " + reset);
    }
    assertFalse(PoolerRenderer.ini(cluster, Target.READ_WRITE).contains("server_reset_query"));
  }

  /** The -rw pooler's pods are the same as before the read-only pooler existed: an upgrade rolls none. */
  @Test
  void theReadWritePoolerIsUnchangedByTheReadOnlyOne() {
    PgCluster cluster = pooled();
    var before = PoolerRenderer.deployment(cluster, "h1", Target.READ_WRITE);
    cluster.getSpec().pooler.readOnlyInstances = 2;
    assertEquals(before, PoolerRenderer.deployment(cluster, "h1", Target.READ_WRITE));
    assertEquals("shop-pooler", before.getSpec().getTemplate().getSpec().getVolumes().stream()
        .filter(v -> v.getName().equals("config")).findFirst().orElseThrow().getConfigMap().getName());
  }

  @Test
  void thePasswordComesFromTheSecretAndWithTlsOnlyTheCaCertificateIsMounted() {
    PgCluster cluster = pooled();
    var env = PoolerRenderer.env(cluster);
    var password = env.stream().filter(e -> e.getName().equals("POOLER_PASSWORD")).findFirst().orElseThrow();
    assertEquals("shop-pooler", password.getValueFrom().getSecretKeyRef().getName());
    assertTrue(env.stream().noneMatch(e -> e.getName().equals("POOLER_CA_FILE")));

    cluster.getSpec().tls = new TlsSpec();
    cluster.getSpec().tls.enabled = true;
    var ca = PoolerRenderer.volumes(cluster, Target.READ_WRITE).stream().filter(v -> v.getName().equals("ca")).findFirst().orElseThrow();
    assertEquals("shop-server", ca.getSecret().getSecretName());
    assertEquals(List.of("ca.crt"), ca.getSecret().getItems().stream().map(i -> i.getKey()).toList());
    assertTrue(PoolerRenderer.env(cluster).stream().anyMatch(e -> e.getName().equals("POOLER_CA_FILE")));
  }

  @Test
  void aConfigurationChangeRollsThePods() {
    PgCluster cluster = pooled();
    String before = PoolerRenderer.deployment(cluster, "h1", Target.READ_WRITE).getSpec().getTemplate().getMetadata().getAnnotations()
        .get(PoolerRenderer.CONFIG_HASH);
    assertEquals(before, PoolerRenderer.deployment(pooled(), "h1", Target.READ_WRITE).getSpec().getTemplate().getMetadata().getAnnotations()
        .get(PoolerRenderer.CONFIG_HASH), "the same spec renders the same pods");
    assertNotEquals(before, PoolerRenderer.deployment(cluster, "h2", Target.READ_WRITE).getSpec().getTemplate().getMetadata()
        .getAnnotations().get(PoolerRenderer.CONFIG_HASH), "a changed password rolls the pods");
    cluster.getSpec().pooler.maxClientConnections = 50;
    assertNotEquals(before, PoolerRenderer.deployment(cluster, "h1", Target.READ_WRITE).getSpec().getTemplate().getMetadata().getAnnotations()
        .get(PoolerRenderer.CONFIG_HASH));
  }

  @Test
  void badPoolerSettingsAreNamed() {
    PgCluster cluster = pooled();
    cluster.getSpec().pooler.poolMode = PoolMode.UNKNOWN;
    cluster.getSpec().pooler.defaultPoolSize = 0;
    List<String> problems = SpecValidator.validate(cluster.getSpec());
    assertTrue(problems.stream().anyMatch(p -> p.startsWith("pooler.poolMode has a value this operator does not know")),
        problems.toString());
    assertTrue(problems.contains("pooler.defaultPoolSize (0) must be between 1 and 10000"), problems.toString());
    String longName = "a".repeat(54);
    assertEquals(List.of("spec.pooler: the pooler's Service " + longName + "-pooler-rw would be longer than 63"
        + " characters: a cluster with a pooler needs a name of at most 53 characters"),
        SpecValidator.validatePooler(longName, cluster.getSpec()));
    assertEquals(List.of(), SpecValidator.validatePooler("a".repeat(53), cluster.getSpec()));
  }
}
