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
import java.util.List;
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
  void aWalVolumeIsASecondClaimMountedWhereTheScriptsAndTheAgentLookForIt() {
    PgCluster cluster = TestClusters.cluster("pg", 3);
    StatefulSet plain = StatefulSetRenderer.render(cluster);
    assertEquals(List.of("pgdata"), plain.getSpec().getVolumeClaimTemplates().stream()
        .map(c -> c.getMetadata().getName()).toList());
    assertTrue(plain.getSpec().getTemplate().getSpec().getInitContainers().get(0).getEnv().stream()
        .noneMatch(e -> e.getName().equals("PG_WAL_DIR")));

    cluster.getSpec().walStorage = new dev.pgcluster.operator.api.v1alpha1.StorageSpec();
    cluster.getSpec().walStorage.size = "5Gi";
    cluster.getSpec().walStorage.storageClass = "fast-log";
    StatefulSet sts = StatefulSetRenderer.render(cluster);
    var wal = sts.getSpec().getVolumeClaimTemplates().get(1);
    assertEquals("pgwal", wal.getMetadata().getName());
    assertEquals("5Gi", wal.getSpec().getResources().getRequests().get("storage").toString());
    assertEquals("fast-log", wal.getSpec().getStorageClassName());
    assertEquals("1Gi", sts.getSpec().getVolumeClaimTemplates().get(0).getSpec().getResources().getRequests().get("storage").toString());
    PodSpec pod = sts.getSpec().getTemplate().getSpec();
    List<Container> all = new java.util.ArrayList<>(pod.getInitContainers());
    all.addAll(pod.getContainers());
    for (Container c : all) {
      var mount = c.getVolumeMounts().stream().filter(m -> m.getName().equals("pgwal")).findFirst();
      assertTrue(mount.isPresent(), c.getName() + " mounts the WAL volume");
      assertEquals("/var/lib/postgresql/wal", mount.get().getMountPath());
      // The agent only reads it (a backup follows the pg_wal link); the scripts and PostgreSQL write it.
      assertEquals(c.getName().equals("agent"), Boolean.TRUE.equals(mount.get().getReadOnly()), c.getName());
    }
    assertEquals("/var/lib/postgresql/wal/pg_wal", pod.getInitContainers().get(0).getEnv().stream()
        .filter(e -> e.getName().equals("PG_WAL_DIR")).findFirst().orElseThrow().getValue());
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

  @Test
  void instancesPreferDifferentNodesByDefaultAndTheTemplateIsTheSameAsBeforeSchedulingExisted() {
    PodSpec pod = StatefulSetRenderer.render(TestClusters.cluster("pg", 3)).getSpec().getTemplate().getSpec();
    var preferred = pod.getAffinity().getPodAntiAffinity().getPreferredDuringSchedulingIgnoredDuringExecution();
    assertEquals(1, preferred.size());
    assertEquals(100, preferred.get(0).getWeight());
    assertEquals("kubernetes.io/hostname", preferred.get(0).getPodAffinityTerm().getTopologyKey());
    assertEquals(Map.of(Labels.CLUSTER, "pg"), preferred.get(0).getPodAffinityTerm().getLabelSelector().getMatchLabels());
    assertTrue(pod.getAffinity().getPodAntiAffinity().getRequiredDuringSchedulingIgnoredDuringExecution().isEmpty());
    assertEquals(null, pod.getAffinity().getNodeAffinity());
    // Nothing else set: an operator upgrade does not roll the pods of a cluster that does not use these.
    assertTrue(pod.getNodeSelector() == null || pod.getNodeSelector().isEmpty());
    assertTrue(pod.getTolerations() == null || pod.getTolerations().isEmpty());
    assertTrue(pod.getTopologySpreadConstraints() == null || pod.getTopologySpreadConstraints().isEmpty());
    assertEquals(null, pod.getPriorityClassName());
    String json = io.fabric8.kubernetes.client.utils.Serialization.asJson(pod);
    assertFalse(json.contains("nodeSelector") || json.contains("tolerations") || json.contains("topologySpread"), json);
  }

  @Test
  void schedulingFromTheSpecReachesThePodTemplate() {
    PgCluster cluster = TestClusters.cluster("pg", 3);
    var scheduling = cluster.getSpec().scheduling;
    scheduling.podAntiAffinity = dev.pgcluster.operator.api.v1alpha1.PodAntiAffinityType.REQUIRED;
    scheduling.topologyKey = "topology.kubernetes.io/zone";
    scheduling.nodeSelector = Map.of("workload", "databases");
    scheduling.tolerations = java.util.List.of(new io.fabric8.kubernetes.api.model.TolerationBuilder()
        .withKey("dedicated").withOperator("Equal").withValue("postgres").withEffect("NoSchedule").build());
    scheduling.nodeAffinity = new io.fabric8.kubernetes.api.model.NodeAffinityBuilder()
        .withNewRequiredDuringSchedulingIgnoredDuringExecution().addNewNodeSelectorTerm().addNewMatchExpression()
        .withKey("kubernetes.io/arch").withOperator("In").withValues("amd64").endMatchExpression().endNodeSelectorTerm()
        .endRequiredDuringSchedulingIgnoredDuringExecution().build();
    scheduling.topologySpreadConstraints = java.util.List.of(
        new io.fabric8.kubernetes.api.model.TopologySpreadConstraintBuilder().withMaxSkew(1)
            .withTopologyKey("kubernetes.io/hostname").withWhenUnsatisfiable("ScheduleAnyway").build(),
        new io.fabric8.kubernetes.api.model.TopologySpreadConstraintBuilder().withMaxSkew(2)
            .withTopologyKey("topology.kubernetes.io/region").withWhenUnsatisfiable("DoNotSchedule")
            .withNewLabelSelector().withMatchLabels(Map.of("team", "payments")).endLabelSelector().build());
    scheduling.priorityClassName = "databases";
    cluster.getSpec().podMetadata = new dev.pgcluster.operator.api.v1alpha1.ObjectMetadataSpec();
    cluster.getSpec().podMetadata.labels = Map.of("team", "payments", Labels.CLUSTER, "other");
    cluster.getSpec().podMetadata.annotations = Map.of("backup.velero.io/backup-volumes", "pgdata");

    var template = StatefulSetRenderer.render(cluster).getSpec().getTemplate();
    PodSpec pod = template.getSpec();
    var required = pod.getAffinity().getPodAntiAffinity().getRequiredDuringSchedulingIgnoredDuringExecution();
    assertEquals(1, required.size());
    assertEquals("topology.kubernetes.io/zone", required.get(0).getTopologyKey());
    assertTrue(pod.getAffinity().getPodAntiAffinity().getPreferredDuringSchedulingIgnoredDuringExecution().isEmpty());
    assertEquals("kubernetes.io/arch", pod.getAffinity().getNodeAffinity().getRequiredDuringSchedulingIgnoredDuringExecution()
        .getNodeSelectorTerms().get(0).getMatchExpressions().get(0).getKey());
    assertEquals(Map.of("workload", "databases"), pod.getNodeSelector());
    assertEquals("dedicated", pod.getTolerations().get(0).getKey());
    assertEquals(Map.of(Labels.CLUSTER, "pg"), pod.getTopologySpreadConstraints().get(0).getLabelSelector().getMatchLabels(),
        "a constraint without a selector counts this cluster's instances");
    assertEquals(Map.of("team", "payments"), pod.getTopologySpreadConstraints().get(1).getLabelSelector().getMatchLabels());
    assertEquals(null, scheduling.topologySpreadConstraints.get(0).getLabelSelector(), "the spec is not modified");
    assertEquals("databases", pod.getPriorityClassName());
    assertEquals("payments", template.getMetadata().getLabels().get("team"));
    assertEquals("pg", template.getMetadata().getLabels().get(Labels.CLUSTER), "the operator's labels win");
    assertEquals("pgdata", template.getMetadata().getAnnotations().get("backup.velero.io/backup-volumes"));

    scheduling.podAntiAffinity = dev.pgcluster.operator.api.v1alpha1.PodAntiAffinityType.NONE;
    assertEquals(null, StatefulSetRenderer.render(cluster).getSpec().getTemplate().getSpec().getAffinity()
        .getPodAntiAffinity());
    scheduling.nodeAffinity = null;
    assertEquals(null, StatefulSetRenderer.render(cluster).getSpec().getTemplate().getSpec().getAffinity());
  }

  @Test
  void theInstanceServiceAccountCarriesTheUsersAnnotations() {
    PgCluster cluster = TestClusters.cluster("pg", 3);
    cluster.getSpec().serviceAccountMetadata = new dev.pgcluster.operator.api.v1alpha1.ObjectMetadataSpec();
    cluster.getSpec().serviceAccountMetadata.annotations = Map.of("azure.workload.identity/client-id", "0000-1111");
    cluster.getSpec().serviceAccountMetadata.labels = Map.of("azure.workload.identity/use", "true");
    var account = InstanceRbacRenderer.serviceAccount(cluster);
    assertEquals("0000-1111", account.getMetadata().getAnnotations().get("azure.workload.identity/client-id"));
    assertEquals("true", account.getMetadata().getLabels().get("azure.workload.identity/use"));
    assertEquals("pg", account.getMetadata().getLabels().get(Labels.CLUSTER));
    var plain = InstanceRbacRenderer.serviceAccount(TestClusters.cluster("pg", 3)).getMetadata().getAnnotations();
    assertTrue(plain == null || plain.isEmpty(), "no annotations unless the spec has some: " + plain);
  }

  @Test
  void tlsMountsTheServerCertificateForBothContainersOnlyWhenEnabled() {
    PgCluster cluster = TestClusters.cluster("pg", 3);
    assertFalse(env(cluster).containsKey("TLS_DIR"));
    assertTrue(StatefulSetRenderer.render(cluster).getSpec().getTemplate().getSpec().getVolumes().stream()
        .noneMatch(v -> v.getName().equals("tls")));
    cluster.getSpec().tls = new dev.pgcluster.operator.api.v1alpha1.TlsSpec();
    cluster.getSpec().tls.enabled = true;
    PodSpec pod = StatefulSetRenderer.render(cluster).getSpec().getTemplate().getSpec();
    var tls = pod.getVolumes().stream().filter(v -> v.getName().equals("tls")).findFirst().orElseThrow();
    assertEquals("pg-server", tls.getSecret().getSecretName());
    assertEquals(0440, tls.getSecret().getDefaultMode());
    for (Container c : List.of(pod.getInitContainers().get(0), pod.getContainers().get(0), pod.getContainers().get(1))) {
      assertTrue(c.getVolumeMounts().stream().anyMatch(m -> m.getName().equals("tls") && m.getReadOnly()), c.getName());
      assertTrue(c.getEnv().stream().anyMatch(e -> e.getName().equals("TLS_DIR")), c.getName());
    }
    // PostgreSQL serves copies that the agent renews, in the directory both containers share.
    for (Container c : pod.getContainers()) {
      assertTrue(c.getEnv().stream().anyMatch(e -> e.getName().equals("TLS_SERVED_DIR")
          && e.getValue().equals("/var/run/postgresql/tls")), c.getName());
      assertTrue(c.getVolumeMounts().stream().anyMatch(m -> m.getName().equals("run")
          && m.getMountPath().equals("/var/run/postgresql") && !Boolean.TRUE.equals(m.getReadOnly())), c.getName());
    }
    cluster.getSpec().tls.serverSecret = "pg-cert-manager";
    assertEquals("pg-cert-manager", StatefulSetRenderer.render(cluster).getSpec().getTemplate().getSpec().getVolumes()
        .stream().filter(v -> v.getName().equals("tls")).findFirst().orElseThrow().getSecret().getSecretName());
  }

  @Test
  void aRestartRequestedOnTheClusterChangesThePodTemplate() {
    PgCluster cluster = TestClusters.cluster("pg", 3);
    var before = StatefulSetRenderer.render(cluster).getSpec().getTemplate();
    cluster.getMetadata().setAnnotations(new java.util.HashMap<>(Map.of(StatefulSetRenderer.RESTARTED_AT,
        "2026-12-07T13:30:00Z", "unrelated", "x")));
    var after = StatefulSetRenderer.render(cluster).getSpec().getTemplate();
    assertEquals("2026-12-07T13:30:00Z", after.getMetadata().getAnnotations().get(StatefulSetRenderer.RESTARTED_AT));
    assertFalse(after.getMetadata().getAnnotations().containsKey("unrelated"), "only the restart request is copied");
    assertFalse(before.equals(after), "a new template: the rollout restarts every instance");
  }

  private static Map<String, EnvVar> env(PgCluster cluster) {
    return StatefulSetRenderer.render(cluster).getSpec().getTemplate().getSpec().getContainers().get(0).getEnv()
        .stream().collect(Collectors.toMap(EnvVar::getName, e -> e));
  }
}
