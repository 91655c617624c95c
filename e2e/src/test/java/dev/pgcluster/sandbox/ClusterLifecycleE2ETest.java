package dev.pgcluster.sandbox;

import static dev.pgcluster.sandbox.SandboxCluster.column;
import static dev.pgcluster.sandbox.SandboxCluster.one;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import java.nio.file.Files;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * One cluster through its life in the sandbox, on real PostgreSQL: bootstrap to Ready, streaming
 * through slots, reads and writes through the Services, a standby pod deleted and back from its volume,
 * scaling up and down, volumes grown.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ClusterLifecycleE2ETest {
  static final Duration READY = Duration.ofSeconds(120);
  Sandbox sandbox;
  SandboxCluster demo;

  @BeforeAll
  void startSandboxOperatorAndCluster() throws Exception {
    sandbox = Sandbox.start();
    sandbox.installOperator();
    sandbox.apply("default", """
        apiVersion: pgcluster.dev/v1alpha1
        kind: PgCluster
        metadata:
          name: demo
        spec:
          instances: 3
          storage:
            size: 1Gi
          walStorage:
            size: 1Gi
        """);
    demo = new SandboxCluster(sandbox, "default", "demo");
  }

  @AfterAll
  void stopEverything() {
    SandboxCluster.closeAndCheckNoLeftovers(sandbox);
  }

  @Test
  @Order(1)
  void threeInstancesBecomeReadyWithTheFirstPodAsPrimary() throws Exception {
    PgCluster cluster = demo.awaitReadyInstances(3, READY);
    assertEquals("demo-0", cluster.getStatus().currentPrimary);
    assertEquals(Boolean.TRUE, cluster.getStatus().initialized);
    assertEquals(3, cluster.getStatus().instances.size());
    assertEquals(List.of(), warnings(), "a normal bootstrap records no Warning event");
    // spec.walStorage: the primary's WAL (initdb) and the standbys' (pg_basebackup) on their WAL volumes.
    for (String pod : List.of("demo-0", "demo-1", "demo-2")) {
      demo.assertWalOnItsVolume(pod);
    }
  }

  /** The Warning events recorded for the cluster: reason, count and message. */
  private List<String> warnings() {
    return sandbox.client().v1().events().inNamespace("default").list().getItems().stream()
        .filter(e -> "Warning".equals(e.getType()) && e.getInvolvedObject() != null
            && "demo".equals(e.getInvolvedObject().getName()) && "PgCluster".equals(e.getInvolvedObject().getKind()))
        .map(e -> e.getReason() + " x" + e.getCount() + ": " + e.getMessage()).sorted().toList();
  }

  @Test
  @Order(2)
  void primaryStreamsToBothStandbysThroughTheirSlots() throws Exception {
    try (Connection primary = demo.toPod("demo-0")) {
      Await.until(Duration.ofSeconds(30), "2 streaming standbys", () -> column(primary,
          "SELECT application_name FROM pg_stat_replication WHERE state = 'streaming' ORDER BY 1"),
          List.of("demo-1", "demo-2")::equals);
      assertEquals(List.of("pgc_demo_1", "pgc_demo_2"), column(primary,
          "SELECT slot_name FROM pg_replication_slots WHERE active AND slot_type = 'physical' ORDER BY 1"));
    }
  }

  @Test
  @Order(3)
  void rowWrittenThroughReadWriteIsReadThroughReadOnly() throws Exception {
    try (Connection rw = demo.viaService("demo-rw"); Statement s = rw.createStatement()) {
      assertEquals("f", one(rw, "SELECT pg_is_in_recovery()"));
      s.execute("CREATE TABLE greetings (id int primary key, text text)");
      s.execute("INSERT INTO greetings VALUES (1, 'hello from -rw')");
    }
    try (Connection ro = demo.viaService("demo-ro")) {
      assertEquals("t", one(ro, "SELECT pg_is_in_recovery()"));
      Await.until(Duration.ofSeconds(30), "the row on a standby",
          () -> one(ro, "SELECT text FROM greetings WHERE id = 1"), "hello from -rw"::equals);
    }
  }

  @Test
  @Order(4)
  void deletedStandbyComesBackFromItsVolumeWithoutCloning() throws Exception {
    String oldUid = sandbox.client().pods().inNamespace("default").withName("demo-2").get().getMetadata().getUid();
    sandbox.deletePod("default", "demo-2");
    try (Connection rw = demo.viaService("demo-rw"); Statement s = rw.createStatement()) {
      s.execute("INSERT INTO greetings VALUES (2, 'written while demo-2 was away')");
    }
    Await.until(READY, "a new demo-2 pod", () -> {
      var pod = sandbox.client().pods().inNamespace("default").withName("demo-2").get();
      return pod != null && !pod.getMetadata().getUid().equals(oldUid);
    });
    demo.awaitReadyInstances(3, READY);
    String bootstrapLog = Files.readString(sandbox.podLogs("default", "demo-2").resolve("bootstrap.log"));
    assertTrue(bootstrapLog.contains("data present; restarting as a standby"), bootstrapLog);
    assertFalse(bootstrapLog.contains("cloning"), bootstrapLog);
    try (Connection standby = demo.toPod("demo-2")) {
      Await.until(Duration.ofSeconds(30), "demo-2 caught up", () -> one(standby,
          "SELECT text FROM greetings WHERE id = 2"), "written while demo-2 was away"::equals);
    }
  }

  @Test
  @Order(5)
  void scalingUpAddsStandbysWithSlotsAndScalingDownDropsThemButKeepsTheVolumes() throws Exception {
    List<String> warningsBefore = warnings();
    scale(5);
    demo.awaitReadyInstances(5, READY);
    assertEquals(warningsBefore, warnings(), "a planned scale-up records no Warning event");
    try (Connection primary = demo.toPod("demo-0")) {
      Await.until(Duration.ofSeconds(30), "4 active slots", () -> column(primary,
          "SELECT slot_name FROM pg_replication_slots WHERE active ORDER BY 1"),
          List.of("pgc_demo_1", "pgc_demo_2", "pgc_demo_3", "pgc_demo_4")::equals);
    }
    scale(2);
    demo.awaitReadyInstances(2, READY);
    assertEquals(warningsBefore, warnings(), "a planned scale-down records no Warning event");
    try (Connection primary = demo.toPod("demo-0")) {
      Await.until(Duration.ofSeconds(30), "only demo-1's slot left", () -> column(primary,
          "SELECT slot_name FROM pg_replication_slots ORDER BY 1"), List.of("pgc_demo_1")::equals);
    }
    for (int i = 2; i < 5; i++) {
      assertNotNull(sandbox.client().persistentVolumeClaims().inNamespace("default").withName("pgdata-demo-" + i).get(),
          "scaling down never deletes a volume claim");
      assertNotNull(sandbox.client().persistentVolumeClaims().inNamespace("default").withName("pgwal-demo-" + i).get(),
          "nor a WAL claim");
      // Healthy with 2 ready comes while the pods past the count are still terminating (they are leaving,
      // not missing); they go within their grace period.
      String pod = "demo-" + i;
      Await.until(Duration.ofSeconds(45), pod + " gone", () -> sandbox.client().pods().inNamespace("default")
          .withName(pod).get() == null);
    }
    assertNotEquals(null, demo.get().getStatus().currentPrimary);
  }

  /**
   * A larger storage.size grows every data claim of the cluster (those of removed instances too, kept for
   * a scale-up) while the instances run: no pod restarted, no Warning, the status reports each size.
   */
  @Test
  @Order(6)
  void aLargerStorageSizeGrowsEveryDataClaimWithoutARestart() throws Exception {
    List<String> warningsBefore = warnings();
    java.util.Map<String, String> uids = new java.util.TreeMap<>();
    sandbox.client().pods().inNamespace("default").withLabel("pgcluster.dev/cluster", "demo").list().getItems()
        .forEach(p -> uids.put(p.getMetadata().getName(), p.getMetadata().getUid()));
    sandbox.editCluster("default", "demo", c -> {
      c.getSpec().storage.size = "2Gi";
      c.getSpec().walStorage.size = "2Gi";
      return c;
    });
    Await.until(Duration.ofSeconds(90), "every data and WAL claim requesting and holding 2Gi", () -> {
      for (int i = 0; i < 10; i++) {
        var claim = sandbox.client().persistentVolumeClaims().inNamespace("default")
            .withName((i < 5 ? "pgdata-demo-" : "pgwal-demo-") + i % 5).get();
        if (!"2Gi".equals(claim.getSpec().getResources().getRequests().get("storage").toString())
            || claim.getStatus().getCapacity() == null
            || !"2Gi".equals(claim.getStatus().getCapacity().get("storage").toString())) {
          return false;
        }
      }
      return true;
    });
    PgCluster grown = Await.until(Duration.ofSeconds(30), "the status reporting 2Gi volumes, growth done",
        demo::get, c -> c.getStatus().instances.stream().allMatch(i -> "2Gi".equals(i.volumeSize))
            && c.getStatus().conditions.stream().anyMatch(k -> "Progressing".equals(k.getType())
                && "Reconciled".equals(k.getReason())));
    assertEquals(2, grown.getStatus().instances.size());
    java.util.Map<String, String> after = new java.util.TreeMap<>();
    sandbox.client().pods().inNamespace("default").withLabel("pgcluster.dev/cluster", "demo").list().getItems()
        .forEach(p -> after.put(p.getMetadata().getName(), p.getMetadata().getUid()));
    assertEquals(uids, after, "no instance restarted");
    assertTrue(sandbox.client().v1().events().inNamespace("default").list().getItems().stream()
        .anyMatch(e -> "VolumeGrowing".equals(e.getReason()) && "Normal".equals(e.getType())
            && e.getMessage().startsWith("pgdata-demo-0: 1Gi -> 2Gi")), "a VolumeGrowing event per claim");
    assertTrue(sandbox.client().v1().events().inNamespace("default").list().getItems().stream()
        .anyMatch(e -> "VolumeGrowing".equals(e.getReason()) && e.getMessage().startsWith("pgwal-demo-0: 1Gi -> 2Gi")
            && e.getMessage().contains("walStorage.size")), "and per WAL claim");
    assertEquals(warningsBefore, warnings(), "growing volumes records no Warning event");
    demo.awaitWritable();
  }

  /** A storage class that does not allow expansion: the API server's refusal is the status's, nothing else changes. */
  @Test
  @Order(7)
  void aClassWithoutExpansionIsReportedWithTheApiServersReason() throws Exception {
    sandbox.client().storage().v1().storageClasses().resource(new io.fabric8.kubernetes.api.model.storage
        .StorageClassBuilder().withNewMetadata().withName("sandbox-fixed").endMetadata()
        .withProvisioner(dev.pgcluster.sandbox.controller.VolumeProvisioner.PROVISIONER).withReclaimPolicy("Retain")
        .withVolumeBindingMode("Immediate").withAllowVolumeExpansion(false).build()).create();
    sandbox.apply("default", """
        apiVersion: pgcluster.dev/v1alpha1
        kind: PgCluster
        metadata:
          name: fixed
        spec:
          instances: 1
          storage:
            size: 1Gi
            storageClass: sandbox-fixed
        """);
    SandboxCluster fixed = new SandboxCluster(sandbox, "default", "fixed");
    fixed.awaitReadyInstances(1, READY);
    sandbox.editCluster("default", "fixed", c -> {
      c.getSpec().storage.size = "2Gi";
      return c;
    });
    var degraded = Await.until(Duration.ofSeconds(60), "Degraded VolumeResizeFailed", () -> fixed.get().getStatus()
        .conditions.stream().filter(k -> "Degraded".equals(k.getType())).findFirst().orElseThrow(),
        k -> "VolumeResizeFailed".equals(k.getReason()));
    assertTrue(degraded.getMessage().startsWith("the API server refused to grow"
        + " pgdata-fixed-0 (1Gi -> 2Gi, storage.size): "), degraded.getMessage());
    assertTrue(degraded.getMessage().contains("must support resize"), degraded.getMessage());
    assertEquals("1Gi", sandbox.client().persistentVolumeClaims().inNamespace("default").withName("pgdata-fixed-0")
        .get().getSpec().getResources().getRequests().get("storage").toString(), "the claim is unchanged");
    assertEquals(dev.pgcluster.operator.api.v1alpha1.ClusterPhase.Degraded, fixed.get().getStatus().phase);
    fixed.awaitWritable();
  }

  private void scale(int instances) {
    sandbox.editCluster("default", "demo", c -> {
          c.getSpec().instances = instances;
          return c;
        });
  }
}
