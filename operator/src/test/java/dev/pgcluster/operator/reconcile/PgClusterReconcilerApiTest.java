package dev.pgcluster.operator.reconcile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgcluster.operator.PgClusterOperator;
import dev.pgcluster.operator.api.v1alpha1.ClusterPhase;
import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.operator.config.OperatorConfig;
import dev.pgcluster.operator.render.TestClusters;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaimBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The operator against the mock API server: objects, status, spec changes, deletion, leader election. */
class PgClusterReconcilerApiTest {
  private static final String NS = "db";
  private MockApi api;
  private KubernetesClient client;
  private PgClusterOperator operator;

  @BeforeEach
  void start() throws Exception {
    api = new MockApi();
    client = api.newClient();
    operator = PgClusterOperator.start(api.newClient(), config("op-a", false), false);
  }

  @AfterEach
  void stop() {
    if (operator != null) {
      operator.close();
    }
    api.close();
  }

  @Test
  void createRendersEveryObjectAndWritesStatus() {
    client.resource(TestClusters.cluster("pg", 3)).inNamespace(NS).create();
    StatefulSet sts = await(() -> client.apps().statefulSets().inNamespace(NS).withName("pg").get());
    assertEquals(3, sts.getSpec().getReplicas());
    for (String svc : List.of("pg", "pg-rw", "pg-ro", "pg-r")) {
      assertOwnedByCluster(await(() -> client.services().inNamespace(NS).withName(svc).get()));
    }
    for (String secret : List.of("pg-superuser", "pg-replication", "pg-app")) {
      // Kept with the data (like the volumes) when the PgCluster is deleted: not owned, but labelled.
      var kept = await(() -> client.secrets().inNamespace(NS).withName(secret).get());
      assertTrue(kept.getMetadata().getOwnerReferences() == null || kept.getMetadata().getOwnerReferences().isEmpty());
      assertEquals("pg", kept.getMetadata().getLabels().get("pgcluster.dev/cluster"));
    }
    assertTrue(await(() -> client.configMaps().inNamespace(NS).withName("pg-config").get()).getData()
        .get("bootstrap.sh").contains("pg_basebackup"));
    assertEquals("pg-0", await(() -> client.configMaps().inNamespace(NS).withName("pg-topology").get())
        .getData().get("primary"));
    var lease = await(() -> client.leases().inNamespace(NS).withName("pg-primary").get());
    assertEquals("pg-0", lease.getSpec().getHolderIdentity());
    assertEquals(0, lease.getSpec().getLeaseTransitions());
    assertOwnedByCluster(await(() -> client.policy().v1().podDisruptionBudget().inNamespace(NS).withName("pg").get()));
    PgCluster withStatus = await(() -> {
      PgCluster c = client.resources(PgCluster.class).inNamespace(NS).withName("pg").get();
      return c.getStatus() != null && c.getStatus().phase != null ? c : null;
    });
    assertEquals(ClusterPhase.Initializing, withStatus.getStatus().phase);
    assertEquals("pg-0", withStatus.getStatus().currentPrimary);
    assertEquals(withStatus.getMetadata().getGeneration(), withStatus.getStatus().observedGeneration);
    assertTrue(withStatus.getStatus().conditions.stream().anyMatch(c -> c.getType().equals("Progressing")
        && c.getStatus().equals("True") && c.getReason().equals("Bootstrapping")));
  }

  /**
   * A PgCluster written against a newer CRD (a replication mode this operator does not know) is
   * reported Invalid on itself; the operator keeps serving the others.
   */
  @Test
  void aResourceWithAValueTheOperatorDoesNotKnowIsReportedAndTheOthersAreServed() {
    String odd = "{\"apiVersion\":\"pgcluster.dev/v1alpha1\",\"kind\":\"PgCluster\",\"metadata\":{\"name\":\"odd\","
        + "\"namespace\":\"" + NS + "\"},\"spec\":{\"instances\":1,\"storage\":{\"size\":\"1Gi\"},"
        + "\"replication\":{\"mode\":\"semi-sync\"}}}";
    client.resource(odd).inNamespace(NS).create();
    client.resource(TestClusters.cluster("pg", 1)).inNamespace(NS).create();
    PgCluster reported = await(() -> {
      PgCluster c = client.resources(PgCluster.class).inNamespace(NS).withName("odd").get();
      return c.getStatus() != null && c.getStatus().phase == ClusterPhase.Invalid ? c : null;
    });
    assertTrue(reported.getStatus().conditions.stream().anyMatch(c -> c.getMessage() != null
        && c.getMessage().contains("replication.mode has a value this operator does not know")),
        reported.getStatus().conditions.toString());
    assertNull(client.apps().statefulSets().inNamespace(NS).withName("odd").get(), "nothing rendered for it");
    assertNotNull(await(() -> client.apps().statefulSets().inNamespace(NS).withName("pg").get()),
        "the other cluster is served");
  }

  @Test
  void specChangesFlowIntoTheObjectsButNeverIntoGeneratedPasswords() {
    client.resource(TestClusters.cluster("pg", 3)).inNamespace(NS).create();
    await(() -> client.apps().statefulSets().inNamespace(NS).withName("pg").get());
    String password = await(() -> client.secrets().inNamespace(NS).withName("pg-app").get()).getData().get("password");
    MockApi.editCluster(client, NS, "pg", c -> {
      c.getSpec().instances = 5;
      c.getSpec().postgresql.parameters.put("work_mem", "16MB");
      return c;
    });
    await(() -> client.apps().statefulSets().inNamespace(NS).withName("pg").get().getSpec().getReplicas() == 5
        ? true : null);
    await(() -> client.configMaps().inNamespace(NS).withName("pg-config").get().getData().get("postgresql.conf")
        .contains("work_mem = '16MB'") ? true : null);
    assertEquals(password, client.secrets().inNamespace(NS).withName("pg-app").get().getData().get("password"));
  }

  @Test
  void invalidSpecIsReportedAsConditionAndEventWithoutRenderingAnything() {
    PgCluster bad = TestClusters.cluster("bad", 3);
    bad.getSpec().postgresql.parameters.put("wal_level", "minimal");
    client.resource(bad).inNamespace(NS).create();
    PgCluster reported = await(() -> {
      PgCluster c = client.resources(PgCluster.class).inNamespace(NS).withName("bad").get();
      return c.getStatus() != null && c.getStatus().phase == ClusterPhase.Invalid ? c : null;
    });
    var ready = reported.getStatus().conditions.stream().filter(c -> c.getType().equals("Ready")).findFirst().orElseThrow();
    assertEquals("InvalidSpec", ready.getReason());
    assertEquals("postgresql.parameters.wal_level is managed by the operator and may not be set", ready.getMessage());
    var event = await(() -> client.v1().events().inNamespace(NS).list().getItems().stream()
        .filter(e -> "InvalidSpec".equals(e.getReason())).findFirst().orElse(null));
    assertEquals("Warning", event.getType());
    assertNull(client.apps().statefulSets().inNamespace(NS).withName("bad").get());
  }

  /**
   * A storage shrink that reached the operator (an API server without the CRD's transition rules, as
   * the mock is) is refused on the object and never reaches the StatefulSet.
   */
  @Test
  void aStorageShrinkIsRefusedEvenWhenTheApiServerLetItThrough() {
    PgCluster cluster = TestClusters.cluster("pg", 3);
    cluster.getSpec().storage.size = "10Gi";
    client.resource(cluster).inNamespace(NS).create();
    await(() -> client.configMaps().inNamespace(NS).withName("pg-config").get());
    MockApi.editCluster(client, NS, "pg", c -> {
      c.getSpec().storage.size = "5Gi";
      return c;
    });
    PgCluster reported = await(() -> {
      PgCluster c = client.resources(PgCluster.class).inNamespace(NS).withName("pg").get();
      return c.getStatus() != null && c.getStatus().phase == ClusterPhase.Invalid ? c : null;
    });
    assertTrue(reported.getStatus().conditions.stream().anyMatch(c -> c.getMessage() != null
        && c.getMessage().contains("storage.size may not shrink (from 10Gi to 5Gi)")),
        reported.getStatus().conditions.toString());
    assertEquals("10Gi", client.apps().statefulSets().inNamespace(NS).withName("pg").get().getSpec()
        .getVolumeClaimTemplates().get(0).getSpec().getResources().getRequests().get("storage").toString());
  }

  @Test
  void deletionLeavesDataVolumesAlone() {
    client.resource(TestClusters.cluster("pg", 1)).inNamespace(NS).create();
    await(() -> client.apps().statefulSets().inNamespace(NS).withName("pg").get());
    client.persistentVolumeClaims().inNamespace(NS).resource(new PersistentVolumeClaimBuilder()
        .withNewMetadata().withName("pgdata-pg-0").withLabels(Map.of("pgcluster.dev/cluster", "pg")).endMetadata()
        .withNewSpec().withNewResources().withRequests(Map.of("storage", new Quantity("1Gi"))).endResources().endSpec()
        .build()).create();
    client.resources(PgCluster.class).inNamespace(NS).withName("pg").delete();
    await(() -> client.resources(PgCluster.class).inNamespace(NS).withName("pg").get() == null ? true : null);
    // Owned objects go with the garbage collector (owner references, checked above); PVCs never do.
    assertNotNull(client.persistentVolumeClaims().inNamespace(NS).withName("pgdata-pg-0").get());
  }

  @Test
  void onlyTheLeaderReconciles() throws Exception {
    operator.close();
    operator = PgClusterOperator.start(api.newClient(), config("op-a", true), false);
    PgClusterOperator second = PgClusterOperator.start(api.newClient(), config("op-b", true), false);
    try {
      String leader = await(() -> {
        var lease = client.leases().inNamespace(NS).withName(OperatorConfig.LEASE_NAME).get();
        return lease == null ? null : lease.getSpec().getHolderIdentity();
      });
      client.resource(TestClusters.cluster("pg", 1)).inNamespace(NS).create();
      await(() -> client.apps().statefulSets().inNamespace(NS).withName("pg").get());
      await(() -> client.v1().events().inNamespace(NS).list().getItems().isEmpty() ? null : true);
      client.v1().events().inNamespace(NS).list().getItems().forEach(e ->
          assertEquals(leader, e.getReportingInstance(), "event " + e.getReason() + " from a non-leader"));
    } finally {
      second.close();
    }
  }

  private static OperatorConfig config(String identity, boolean leaderElection) {
    return OperatorConfig.fromEnv(Map.of("POD_NAME", identity, "POD_NAMESPACE", NS, "PGC_HTTP_PORT", "0",
        "PGC_LEADER_ELECTION", Boolean.toString(leaderElection), "PGC_SQL_CONNECT_TIMEOUT_SECONDS", "1"));
  }

  private static void assertOwnedByCluster(HasMetadata object) {
    var owner = object.getMetadata().getOwnerReferences().get(0);
    assertEquals("PgCluster", owner.getKind());
    assertTrue(owner.getController());
  }

  static <T> T await(Supplier<T> probe) {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (System.nanoTime() < deadline) {
      T value = probe.get();
      if (value != null) {
        return value;
      }
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    }
    throw new AssertionError("condition not met within 30s");
  }
}
