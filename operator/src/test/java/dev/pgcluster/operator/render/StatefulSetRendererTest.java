package dev.pgcluster.operator.render;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgcluster.operator.api.v1alpha1.DelayedReplicasSpec;
import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class StatefulSetRendererTest {

  @Test
  void rendersOneReplicaPerInstanceReplacedOnlyOnDelete() {
    StatefulSet sts = StatefulSetRenderer.render(TestClusters.cluster("pg", 3));
    assertEquals(3, sts.getSpec().getReplicas());
    assertEquals("OnDelete", sts.getSpec().getUpdateStrategy().getType());
    assertEquals("Parallel", sts.getSpec().getPodManagementPolicy());
    assertEquals("pg", sts.getSpec().getServiceName());
    assertEquals(Map.of(Labels.CLUSTER, "pg"), sts.getSpec().getSelector().getMatchLabels());
    assertEquals("PgCluster", sts.getMetadata().getOwnerReferences().get(0).getKind());
  }

  @Test
  void initContainerRunsTheBootstrapScriptFromTheConfigMap() {
    PodSpec pod = StatefulSetRenderer.render(TestClusters.cluster("pg", 3)).getSpec().getTemplate().getSpec();
    Container init = pod.getInitContainers().get(0);
    assertEquals("bootstrap", init.getName());
    assertEquals("postgres:16", init.getImage());
    assertEquals("/etc/pgcluster/config/bootstrap.sh", init.getCommand().get(1));
    assertTrue(pod.getVolumes().stream().anyMatch(v -> v.getConfigMap() != null
        && "pg-config".equals(v.getConfigMap().getName())));
    assertTrue(pod.getVolumes().stream().anyMatch(v -> v.getConfigMap() != null
        && "pg-topology".equals(v.getConfigMap().getName())));
  }

  @Test
  void theAgentRunsBesidePostgresWithTheInstanceServiceAccountAndASharedProcessNamespace() {
    var pod = StatefulSetRenderer.render(TestClusters.cluster("pg", 3), "registry.example/pgcluster-operator:1.2.3")
        .getSpec().getTemplate().getSpec();
    assertEquals("pg-instance", pod.getServiceAccountName());
    assertEquals(Boolean.TRUE, pod.getShareProcessNamespace(), "the agent signals the postmaster");
    Container agent = pod.getContainers().stream().filter(c -> c.getName().equals("agent")).findFirst().orElseThrow();
    assertEquals("registry.example/pgcluster-operator:1.2.3", agent.getImage());
    assertEquals(java.util.List.of("agent"), agent.getArgs());
    assertTrue(agent.getEnv().stream().anyMatch(e -> e.getName().equals("PRIMARY_LEASE") && e.getValue().equals("pg-primary")));
    assertTrue(agent.getVolumeMounts().stream().allMatch(m -> Boolean.TRUE.equals(m.getReadOnly())),
        "the agent only reads the data volume (postmaster.pid)");
  }

  @Test
  void podsRunAsNonRootWithoutCapabilities() {
    PodSpec pod = StatefulSetRenderer.render(TestClusters.cluster("pg", 3)).getSpec().getTemplate().getSpec();
    assertTrue(pod.getSecurityContext().getRunAsNonRoot());
    assertEquals(999L, pod.getSecurityContext().getRunAsUser());
    for (Container c : pod.getContainers()) {
      assertEquals(java.util.List.of("ALL"), c.getSecurityContext().getCapabilities().getDrop());
      assertFalse(c.getSecurityContext().getAllowPrivilegeEscalation());
    }
  }

  @Test
  void probesUseTheLocalSocketForReadinessAndTcpForLiveness() {
    Container pg = StatefulSetRenderer.render(TestClusters.cluster("pg", 3)).getSpec().getTemplate().getSpec()
        .getContainers().get(0);
    assertEquals("pg_isready", pg.getReadinessProbe().getExec().getCommand().get(0));
    assertTrue(pg.getReadinessProbe().getExec().getCommand().contains("/var/run/postgresql"));
    assertEquals(5432, pg.getLivenessProbe().getTcpSocket().getPort().getIntVal());
  }

  @Test
  void passwordsComeFromSecretsAndUserSuppliedSecretsAreHonoured() {
    PgCluster cluster = TestClusters.cluster("pg", 3);
    cluster.getSpec().bootstrap.ownerSecret = "my-app-credentials";
    Map<String, EnvVar> env = env(cluster);
    assertEquals("pg-superuser", env.get("PG_SUPERUSER_PASSWORD").getValueFrom().getSecretKeyRef().getName());
    assertEquals("pg-replication", env.get("PG_REPLICATION_PASSWORD").getValueFrom().getSecretKeyRef().getName());
    assertEquals("my-app-credentials", env.get("APP_PASSWORD").getValueFrom().getSecretKeyRef().getName());
    assertEquals("pg-rw", env.get("PRIMARY_HOST").getValue());
    assertEquals("status.podIP", env.get("POD_IP").getValueFrom().getFieldRef().getFieldPath());
  }

  @Test
  void delayedReplicasAreTheHighestOrdinals() {
    PgCluster cluster = TestClusters.cluster("pg", 4);
    cluster.getSpec().replication.delayedReplicas = new DelayedReplicasSpec();
    cluster.getSpec().replication.delayedReplicas.instances = 1;
    cluster.getSpec().replication.delayedReplicas.applyDelay = "5min";
    Map<String, EnvVar> env = env(cluster);
    assertEquals("3", env.get("DELAYED_FROM_ORDINAL").getValue());
    assertEquals("5min", env.get("APPLY_DELAY").getValue());
    assertFalse(env(TestClusters.cluster("pg", 3)).containsKey("DELAYED_FROM_ORDINAL"));
  }

  @Test
  void volumeClaimTemplateRequestsTheStorageSize() {
    PgCluster cluster = TestClusters.cluster("pg", 3);
    cluster.getSpec().storage.storageClass = "fast";
    var claim = StatefulSetRenderer.render(cluster).getSpec().getVolumeClaimTemplates().get(0);
    assertEquals("pgdata", claim.getMetadata().getName());
    assertEquals("1Gi", claim.getSpec().getResources().getRequests().get("storage").toString());
    assertEquals("fast", claim.getSpec().getStorageClassName());
  }

  private static Map<String, EnvVar> env(PgCluster cluster) {
    return StatefulSetRenderer.render(cluster).getSpec().getTemplate().getSpec().getContainers().get(0).getEnv()
        .stream().collect(Collectors.toMap(EnvVar::getName, e -> e));
  }
}
