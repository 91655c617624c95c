package dev.pgcluster.sandbox;

import static dev.pgcluster.sandbox.SandboxCluster.column;
import static dev.pgcluster.sandbox.SandboxCluster.one;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgcluster.operator.api.v1alpha1.LogicalReplicationStatus;
import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.operator.naming.PgClusterNames;
import dev.pgcluster.sandbox.net.PodNetwork;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Seed 000 in the sandbox: two PgClusters in two namespaces (two datacenters), each a pglogical node
 * subscribed to the other, so both take writes (active-active, AP). Their credentials come later than the
 * clusters (reported, then used); writes on each side reach the other; during a partition between them
 * both stay writable, the same row changed on both sides, and once it heals both hold the same rows, the
 * row as the later update left it (last_update_wins).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class LogicalReplicationE2ETest {
  static final Duration READY = Duration.ofSeconds(180);
  Sandbox sandbox;
  SandboxCluster dc1;
  SandboxCluster dc2;

  /** The example pair, as a user applies it. */
  static String example(String side) throws java.io.IOException {
    return java.nio.file.Files.readString(dev.pgcluster.sandbox.controlplane.ControlPlaneBuild.repositoryRoot()
        .resolve("examples/pgcluster-active-active-" + side + ".yaml"));
  }

  @BeforeAll
  void start() throws Exception {
    sandbox = Sandbox.start();
    try {
      sandbox.installOperator();
      for (String ns : List.of("dc1", "dc2")) {
        sandbox.client().namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(ns).endMetadata()
            .build()).create();
      }
      sandbox.apply("dc1", example("dc1"));
      sandbox.apply("dc2", example("dc2"));
      dc1 = new SandboxCluster(sandbox, "dc1", "pg");
      dc2 = new SandboxCluster(sandbox, "dc2", "pg");
      dc1.awaitReadyInstances(2, READY);
      dc2.awaitReadyInstances(2, READY);
    } catch (Exception | AssertionError e) {
      SandboxCluster.closeAndCheckNoLeftovers(sandbox);
      throw e;
    }
  }

  @AfterAll
  void stop() {
    SandboxCluster.closeAndCheckNoLeftovers(sandbox);
  }

  @Test
  @Order(1)
  void aSubscriptionWithoutItsSecretIsReportedAndMadeOnceTheSecretExists() throws Exception {
    for (SandboxCluster side : List.of(dc1, dc2)) {
      LogicalReplicationStatus status = Await.until(READY, "the missing Secret reported", () -> logical(side),
          s -> s != null && s.node != null && !s.subscriptions.isEmpty() && "failed".equals(s.subscriptions.get(0).state));
      assertTrue(status.subscriptions.get(0).message.endsWith("credentials: Secret peer not found"),
          status.subscriptions.get(0).message);
    }
    assertTrue(sandbox.client().v1().events().inNamespace("dc1").list().getItems().stream().anyMatch(e ->
        "LogicalReplicationFailed".equals(e.getReason()) && e.getMessage().contains("Secret peer not found")));
    // The same table on both sides first (DDL is not replicated), then each side's credentials for the other.
    for (SandboxCluster side : List.of(dc1, dc2)) {
      try (Connection c = side.viaService("pg-rw"); Statement s = c.createStatement()) {
        s.execute("CREATE TABLE items (id int PRIMARY KEY, v text NOT NULL)");
        s.execute("CREATE TABLE notes (body text)");  // no primary key: left out, reported
      }
    }
    for (SandboxCluster side : List.of(dc1, dc2)) {
      Await.until(READY, "items published", () -> logical(side), s -> s.tables.contains("items")
          && s.tablesWithoutPrimaryKey.equals(List.of("notes")));
    }
    peer("dc1", dc2);
    peer("dc2", dc1);
    for (SandboxCluster side : List.of(dc1, dc2)) {
      Await.until(READY, "the subscription replicating", () -> logical(side),
          s -> "replicating".equals(s.subscriptions.get(0).state));
    }
  }

  @Test
  @Order(2)
  void writesOnEachSideReachTheOther() throws Exception {
    try (Connection a = dc1.viaService("pg-rw"); Statement s = a.createStatement()) {
      s.execute("INSERT INTO items VALUES (1, 'from dc1')");
    }
    try (Connection b = dc2.viaService("pg-rw"); Statement s = b.createStatement()) {
      s.execute("INSERT INTO items VALUES (2, 'from dc2')");
    }
    List<String> both = List.of("1 from dc1", "2 from dc2");
    for (SandboxCluster side : List.of(dc1, dc2)) {
      try (Connection c = side.viaService("pg-rw")) {
        Await.until(Duration.ofSeconds(30), "both rows on " + side.get().getMetadata().getNamespace(),
            () -> rows(c), both::equals);
      }
    }
  }

  @Test
  @Order(3)
  void bothStayWritableInAPartitionAndConvergeAfterItTheLaterUpdateWinning() throws Exception {
    String dc2Ip = sandbox.podIp("dc2", dc2.get().getStatus().currentPrimary);
    var cut = sandbox.partition("dc1", dc1.get().getStatus().currentPrimary, new PodNetwork.Peer.Pod(dc2Ip));
    try {
      try (Connection a = dc1.viaService("pg-rw"); Statement s = a.createStatement()) {
        s.execute("UPDATE items SET v = 'dc1 during the partition' WHERE id = 1");
        s.execute("INSERT INTO items VALUES (10, 'dc1 alone')");
      }
      Thread.sleep(1_000);  // commit timestamps a second apart: dc2's update is the later one
      try (Connection b = dc2.viaService("pg-rw"); Statement s = b.createStatement()) {
        s.execute("UPDATE items SET v = 'dc2 during the partition' WHERE id = 1");
        s.execute("INSERT INTO items VALUES (20, 'dc2 alone')");
      }
      try (Connection a = dc1.viaService("pg-rw"); Connection b = dc2.viaService("pg-rw")) {
        Thread.sleep(5_000);
        assertEquals("dc1 during the partition", one(a, "SELECT v FROM items WHERE id = 1"), "AP: each side its own");
        assertEquals("dc2 during the partition", one(b, "SELECT v FROM items WHERE id = 1"));
      }
    } finally {
      sandbox.heal(cut);
    }
    List<String> converged = List.of("1 dc2 during the partition", "2 from dc2", "10 dc1 alone", "20 dc2 alone");
    for (SandboxCluster side : List.of(dc1, dc2)) {
      try (Connection c = side.viaService("pg-rw")) {
        Await.until(Duration.ofSeconds(90), "the same rows on " + side.get().getMetadata().getNamespace(),
            () -> rows(c), converged::equals);
      }
    }
  }

  /**
   * dc2's primary is lost while it takes writes. Its standby is promoted (no acknowledged write lost:
   * synchronous, durability required), the operator creates dc1's slot again on it, and dc1's
   * subscription streams again. PostgreSQL 15 keeps slots on the primary alone, so dc1 may miss what dc2
   * committed between the last position dc1 was seen to confirm and the new slot's start: the status
   * names that window, and every row dc1 misses lies in it.
   */
  @Test
  @Order(4)
  void aFailoverOnOneSideResumesTheSubscriptionAndWhatTheOtherMissesIsWhatTheStatusSays() throws Exception {
    String former = dc2.get().getStatus().currentPrimary;
    java.util.Map<Integer, String[]> acked = new java.util.concurrent.ConcurrentHashMap<>();
    java.util.concurrent.atomic.AtomicBoolean writing = new java.util.concurrent.atomic.AtomicBoolean(true);
    Thread writer = new Thread(() -> {
      int id = 1000;
      while (writing.get()) {
        try (Connection c = dc2.viaService("pg-rw"); Statement s = c.createStatement()) {
          while (writing.get()) {
            String before = one(c, "SELECT pg_current_wal_insert_lsn()::text");
            s.execute("INSERT INTO items VALUES (" + id + ", 'dc2 writer')");
            acked.put(id, new String[] {before, one(c, "SELECT pg_current_wal_insert_lsn()::text")});
            id++;
            Thread.sleep(20);
          }
        } catch (Exception e) {
          id++;  // this one may or may not have committed: never counted
          try {
            Thread.sleep(200);
          } catch (InterruptedException ie) {
            return;
          }
        }
      }
    }, "dc2 writer");
    writer.start();
    PgCluster after;
    try {
      Await.until(Duration.ofSeconds(30), "writes before the failover", acked::size, n -> n >= 50);
      sandbox.loseNode("dc2", former);
      after = Await.until(READY, "a new primary on dc2", dc2::get,
          c -> c.getStatus().currentPrimary != null && !c.getStatus().currentPrimary.equals(former));
      int at = acked.size();
      Await.until(Duration.ofSeconds(60), "writes on the new primary", acked::size, n -> n >= at + 50);
    } finally {
      writing.set(false);
      writer.join(10_000);
      sandbox.restoreLostNodes();
    }
    LogicalReplicationStatus.SlotStatus slot = Await.until(READY, "dc1's slot created again on dc2's new primary",
        () -> logical(dc2), s -> s.slots.stream().anyMatch(x -> x.recreated != null)).slots.stream()
        .filter(x -> x.recreated != null).findFirst().orElseThrow();
    System.out.println("dc2 failover " + former + " -> " + after.getStatus().currentPrimary + ": " + slot.name + " "
        + slot.recreated);
    assertEquals("pgl_app_dc2_from_dc2", slot.name);
    assertTrue(slot.recreated.contains("on " + after.getStatus().currentPrimary), slot.recreated);
    assertTrue(sandbox.client().v1().events().inNamespace("dc2").list().getItems().stream()
        .anyMatch(e -> "LogicalSlotRecreated".equals(e.getReason()) && e.getMessage().contains(slot.gapTo)));
    Await.until(READY, "dc1's subscription replicating again", () -> logical(dc1),
        s -> "replicating".equals(s.subscriptions.get(0).state));
    long gapTo = lsn(slot.gapTo);
    long gapFrom = slot.gapFrom == null ? 0 : lsn(slot.gapFrom);
    // Everything dc2 acknowledged from the new slot's start on reaches dc1.
    java.util.Set<Integer> mustArrive = new java.util.TreeSet<>();
    acked.forEach((id, lsns) -> {
      if (lsn(lsns[0]) >= gapTo) {
        mustArrive.add(id);
      }
    });
    assertTrue(mustArrive.size() >= 40, "rows written after the new slot's start: " + mustArrive.size());
    try (Connection a = dc1.viaService("pg-rw"); Connection b = dc2.viaService("pg-rw")) {
      Await.until(Duration.ofSeconds(60), "dc2's later rows on dc1", () -> new java.util.HashSet<>(column(a,
          "SELECT id::text FROM items WHERE id >= 1000")), have -> mustArrive.stream()
              .allMatch(id -> have.contains(Integer.toString(id))));
      java.util.Set<String> onDc1 = new java.util.HashSet<>(column(a, "SELECT id::text FROM items WHERE id >= 1000"));
      java.util.Set<String> onDc2 = new java.util.HashSet<>(column(b, "SELECT id::text FROM items WHERE id >= 1000"));
      List<Integer> lostOnDc2 = acked.keySet().stream().filter(id -> !onDc2.contains(Integer.toString(id))).sorted()
          .toList();
      assertEquals(List.of(), lostOnDc2, "acknowledged rows dc2 lost in its own failover");
      List<String> outsideTheWindow = new ArrayList<>();
      int missed = 0;
      for (var row : acked.entrySet()) {
        if (!onDc1.contains(Integer.toString(row.getKey()))) {
          missed++;
          long before = lsn(row.getValue()[0]);
          long afterLsn = lsn(row.getValue()[1]);
          if (!(afterLsn > gapFrom && before < gapTo)) {
            outsideTheWindow.add(row.getKey() + " [" + row.getValue()[0] + ", " + row.getValue()[1] + "]");
          }
        }
      }
      System.out.printf("dc2 acknowledged %d rows; dc1 misses %d of them, all between %s and %s%n", acked.size(),
          missed, slot.gapFrom, slot.gapTo);
      assertEquals(List.of(), outsideTheWindow, "rows dc1 misses outside the window the status names");
    }
  }

  /** A subscription taken out of the spec is dropped, and its slot on the provider with it. */
  @Test
  @Order(5)
  void aSubscriptionTakenOutIsDroppedWithItsSlotOnTheProvider() throws Exception {
    Await.until(READY, "dc2 holds dc1's slot", () -> logical(dc2), s -> s.slots.stream()
        .anyMatch(x -> x.name.equals("pgl_app_dc2_from_dc2")));
    sandbox.editCluster("dc1", "pg", c -> {
      c.getSpec().logicalReplication.subscriptions.clear();
      return c;
    });
    Await.until(READY, "dc1's subscription gone", () -> logical(dc1), s -> s.subscriptions.isEmpty());
    try (Connection a = dc1.toPod(dc1.get().getStatus().currentPrimary)) {
      assertEquals("0", one(a, "SELECT count(*) FROM pglogical.subscription"));
    }
    Await.until(READY, "its slot gone from dc2", () -> logical(dc2), s -> s.slots.stream()
        .noneMatch(x -> x.name.equals("pgl_app_dc2_from_dc2")));
    assertTrue(sandbox.client().v1().events().inNamespace("dc1").list().getItems().stream().anyMatch(e ->
        "LogicalReplicationUpdated".equals(e.getReason()) && e.getMessage().startsWith("subscription from_dc2 dropped")));
  }

  private static long lsn(String lsn) {
    String[] parts = lsn.split("/");
    return (Long.parseLong(parts[0], 16) << 32) + Long.parseLong(parts[1], 16);
  }

  private void peer(String namespace, SandboxCluster provider) {
    String password = provider.password(PgClusterNames.of(provider.get()).superuserSecret());
    sandbox.client().secrets().inNamespace(namespace).resource(new SecretBuilder().withNewMetadata().withName("peer")
        .endMetadata().addToStringData("username", PgClusterNames.SUPERUSER).addToStringData("password", password)
        .build()).create();
  }

  private static List<String> rows(Connection c) throws java.sql.SQLException {
    return column(c, "SELECT id || ' ' || v FROM items ORDER BY id");
  }

  private static LogicalReplicationStatus logical(SandboxCluster side) {
    PgCluster cluster = side.get();
    return cluster.getStatus() == null ? null : cluster.getStatus().logicalReplication;
  }
}
