package dev.pgcluster.sandbox;

import static dev.pgcluster.sandbox.SandboxCluster.column;
import static dev.pgcluster.sandbox.SandboxCluster.one;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgcluster.operator.api.v1alpha1.PgBackup;
import dev.pgcluster.operator.api.v1alpha1.PgBackupStatus;
import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.sandbox.objectstore.ObjectStore;
import java.nio.file.Files;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Backups with pgBackRest to the sandbox's S3 server (s3proxy over HTTPS), and clusters restored from
 * them: to a point in time before a DROP TABLE, to the latest archived WAL after a failover under
 * synchronous replication with the source cluster deleted, and a target the store cannot reach.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class BackupRecoveryE2ETest {
  static final Duration READY = Duration.ofSeconds(180);
  static final String NS = "default";
  static final String SECRET = "store";
  Sandbox sandbox;
  SandboxCluster shop;
  ObjectStore store;
  /** Ids committed at or before the recovery target time, and the target. */
  List<String> beforeTarget;
  String targetTime;

  @BeforeAll
  void start() throws Exception {
    sandbox = Sandbox.start();
    try {
      sandbox.installOperator();
      store = sandbox.objectStore();
      sandbox.client().secrets().inNamespace(NS).resource(store.credentialsSecret(NS, SECRET)).create();
      PgCluster applied = sandbox.apply(NS, """
          apiVersion: pgcluster.dev/v1alpha1
          kind: PgCluster
          metadata:
            name: shop
          spec:
            instances: 2
            storage:
              size: 1Gi
            walStorage:
              size: 1Gi
            replication:
              mode: sync
              number: 1
              durability: required
          """ + ObjectStore.specYaml(SECRET, "  "));
      shop = new SandboxCluster(sandbox, NS, applied.getMetadata().getName());
      shop.awaitReadyInstances(2, READY);
      shop.awaitWritable();
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
  void walIsArchivedFromThePrimaryAndABackupIsTakenOnRequest() throws Exception {
    try (Connection rw = shop.viaService("shop-rw"); Statement s = rw.createStatement()) {
      s.execute("CREATE TABLE orders (id int primary key, at timestamptz default clock_timestamp())");
      for (int i = 1; i <= 100; i++) {
        s.execute("INSERT INTO orders (id) VALUES (" + i + ")");
      }
    }
    String primary = shop.get().getStatus().currentPrimary;
    String segment;
    try (Connection c = shop.toPod(primary)) {
      segment = one(c, "SELECT pg_walfile_name(pg_switch_wal())");
    }
    PgCluster archived = Await.until(Duration.ofSeconds(60), "segment " + segment + " archived", shop::get,
        c -> c.getStatus().backup != null && c.getStatus().backup.lastArchivedWal != null
            && c.getStatus().backup.lastArchivedWal.compareTo(segment) >= 0);
    assertEquals(null, archived.getStatus().backup.archiveError);
    try (Stream<java.nio.file.Path> files = Files.walk(store.bucketDirectory())) {
      assertTrue(files.anyMatch(p -> p.getFileName().toString().startsWith(segment)),
          "the WAL segment is an object in the bucket");
    }

    PgBackup done = takeBackup("shop-first");
    PgBackupStatus b = done.getStatus();
    System.out.printf("backup %s: label %s, %s -> %s, LSN %s..%s, %d bytes (%d in the store), WAL %s..%s%n",
        done.getMetadata().getName(), b.label, b.startedAt, b.stoppedAt, b.startLsn, b.stopLsn, b.databaseBytes,
        b.repositoryBytes, b.startWal, b.stopWal);
    assertEquals(primary, b.instance);
    assertTrue(b.label.endsWith("F"), "a full backup's label: " + b.label);
    assertNotNull(b.stopLsn);
    assertTrue(b.databaseBytes > 1_000_000, "the database's size: " + b.databaseBytes);
    assertEquals(b.stoppedAt, b.firstRecoverabilityPoint);
    PgCluster seen = Await.until(Duration.ofSeconds(30), "status.backup.lastBackup", shop::get,
        c -> "shop-first".equals(c.getStatus().backup.lastBackup));
    assertEquals(b.stoppedAt, seen.getStatus().backup.firstRecoverabilityPoint);
  }

  @Test
  @Order(2)
  void restoredToAPointInTimeBeforeADropTableHoldsExactlyTheRowsCommittedUpToIt() throws Exception {
    try (Connection rw = shop.viaService("shop-rw"); Statement s = rw.createStatement()) {
      for (int i = 101; i <= 150; i++) {
        s.execute("INSERT INTO orders (id) VALUES (" + i + ")");
      }
      Thread.sleep(1100);
      targetTime = one(rw, "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')");
      beforeTarget = column(rw, "SELECT id::text FROM orders ORDER BY id");
      Thread.sleep(1100);
      for (int i = 151; i <= 200; i++) {
        s.execute("INSERT INTO orders (id) VALUES (" + i + ")");
      }
      s.execute("DROP TABLE orders");
    }
    awaitArchivedPastNow();

    SandboxCluster pitr = restore("shop-pitr", "      target:\n        time: \"" + targetTime + "\"\n");
    try (Connection c = pitr.toPod("shop-pitr-0")) {
      List<String> ids = column(c, "SELECT id::text FROM orders ORDER BY id");
      assertEquals(150, beforeTarget.size());
      assertEquals(beforeTarget, ids, "exactly the rows committed at or before " + targetTime);
      assertEquals("f", one(c, "SELECT pg_is_in_recovery()"));
      assertTrue(Long.parseLong(one(c, "SELECT timeline_id FROM pg_control_checkpoint()")) >= 2,
          "a restored cluster runs on a new timeline");
    }
    // Backed up from a cluster whose pg_wal is a link to its WAL volume, restored with one of its own.
    pitr.assertWalOnItsVolume("shop-pitr-0");
    // It is a normal cluster: it archives to a stanza of its own and takes writes.
    try (Connection rw = pitr.viaService("shop-pitr-rw"); Statement s = rw.createStatement()) {
      s.execute("INSERT INTO orders (id) VALUES (1000)");
    }
  }

  @Test
  @Order(3)
  void afterAFailoverAndWithTheSourceDeletedTheLatestRestoreHoldsEveryAcknowledgedCommit() throws Exception {
    List<Integer> acked = new ArrayList<>();
    try (Connection rw = shop.viaService("shop-rw"); Statement s = rw.createStatement()) {
      s.execute("CREATE TABLE acked (id int primary key)");
      for (int i = 0; i < 100; i++) {
        s.execute("INSERT INTO acked VALUES (" + i + ")");
        acked.add(i);
      }
    }
    String old = shop.get().getStatus().currentPrimary;
    sandbox.loseNode(NS, old);
    Await.until(Duration.ofSeconds(60), "a new primary", shop::get,
        c -> c.getStatus().currentPrimary != null && !c.getStatus().currentPrimary.equals(old));
    // Durability required: the new primary's commits wait for a synchronous standby, the former primary
    // once its node is back and it has rejoined.
    sandbox.restoreLostNodes();
    Await.until(Duration.ofSeconds(120), "writes on the new primary", () -> {
      try (Connection rw = shop.viaService("shop-rw"); Statement s = rw.createStatement()) {
        s.execute("SET statement_timeout = '3s'");
        for (int i = 100; i < 150; i++) {
          s.execute("INSERT INTO acked VALUES (" + i + ") ON CONFLICT DO NOTHING");
          if (!acked.contains(i)) {
            acked.add(i);
          }
        }
        return true;
      }
    });
    awaitArchivedPastNow();

    // The source goes; the store alone brings its data back.
    sandbox.client().resources(PgCluster.class).inNamespace(NS).withName("shop").delete();
    Await.until(Duration.ofSeconds(60), "shop's pods gone",
        () -> sandbox.client().pods().inNamespace(NS).withLabel("pgcluster.dev/cluster", "shop").list().getItems().isEmpty());
    SandboxCluster latest = restore("shop-latest", "");
    try (Connection c = latest.toPod("shop-latest-0")) {
      List<String> ids = column(c, "SELECT id::text AS v FROM acked ORDER BY acked.id");
      assertEquals(acked.stream().sorted().map(String::valueOf).toList(), ids,
          "every acknowledged commit, across the failover");
    }
  }

  @Test
  @Order(4)
  void aTargetBeforeTheFirstBackupIsReportedAndNothingStarts() throws Exception {
    sandbox.apply(NS, recoveryManifest("shop-early", "      target:\n        time: \"2001-01-01T00:00:00Z\"\n"));
    SandboxCluster early = new SandboxCluster(sandbox, NS, "shop-early");
    PgCluster failed = awaitCondition(early, "RecoveryFailed", Duration.ofSeconds(120));
    String message = conditionMessage(failed, "RecoveryFailed");
    System.out.println("recovery before the first backup: " + message);
    assertTrue(message.startsWith("restoring shop from the store failed:"), message);
    assertTrue(!Boolean.TRUE.equals(failed.getStatus().initialized));
    assertTrue(sandbox.client().v1().events().inNamespace(NS).list().getItems().stream()
        .anyMatch(e -> "RecoveryFailed".equals(e.getReason()) && "shop-early".equals(e.getInvolvedObject().getName())));
    sandbox.client().resources(PgCluster.class).inNamespace(NS).withName("shop-early").delete();
  }

  @Test
  @Order(5)
  void aTargetPastTheEndOfTheArchiveIsReported() throws Exception {
    String future = java.time.Instant.now().plus(Duration.ofHours(1)).truncatedTo(java.time.temporal.ChronoUnit.SECONDS)
        .toString();
    sandbox.apply(NS, recoveryManifest("shop-late", "      target:\n        time: \"" + future + "\"\n"));
    SandboxCluster late = new SandboxCluster(sandbox, NS, "shop-late");
    PgCluster failed = awaitCondition(late, "RecoveryFailed", Duration.ofSeconds(180));
    String message = conditionMessage(failed, "RecoveryFailed");
    System.out.println("recovery past the end of the archive: " + message);
    assertTrue(message.contains("recovery ended before configured recovery target was reached"), message);
    assertTrue(!Boolean.TRUE.equals(failed.getStatus().initialized), "never initialized");
    sandbox.client().resources(PgCluster.class).inNamespace(NS).withName("shop-late").delete();
  }

  @Test
  @Order(6)
  void aScheduleCreatesBackupsThatComplete() throws Exception {
    sandbox.editCluster(NS, "shop-pitr", c -> {
      c.getSpec().backup.schedule = "* * * * *";
      return c;
    });
    PgBackup scheduled = Await.until(Duration.ofSeconds(150), "a scheduled backup of shop-pitr completed",
        () -> sandbox.client().resources(PgBackup.class).inNamespace(NS).list().getItems().stream()
            .filter(b -> "shop-pitr".equals(b.getSpec().cluster) && b.getStatus() != null
                && PgBackupStatus.COMPLETED.equals(b.getStatus().phase)).findFirst().orElse(null),
        b -> b != null);
    assertTrue(scheduled.getMetadata().getName().matches("shop-pitr-\\d{12}"), scheduled.getMetadata().getName());
    assertEquals("shop-pitr", scheduled.getMetadata().getOwnerReferences().get(0).getName());
    PgCluster pitr = sandbox.client().resources(PgCluster.class).inNamespace(NS).withName("shop-pitr").get();
    assertNotNull(pitr.getStatus().backup.lastScheduledAt);
    assertTrue(sandbox.client().v1().events().inNamespace(NS).list().getItems().stream()
        .anyMatch(e -> "BackupScheduled".equals(e.getReason()) && "shop-pitr".equals(e.getInvolvedObject().getName())));
    sandbox.editCluster(NS, "shop-pitr", c -> {
      c.getSpec().backup.schedule = null;
      return c;
    });
  }

  @Test
  @Order(7)
  void aStoreOutageDuringWritesIsReportedAndNothingIsMissingOnceItIsBack() throws Exception {
    SandboxCluster pitr = new SandboxCluster(sandbox, NS, "shop-pitr");
    store.stop();
    String firstSegment;
    String lastSegment;
    try (Connection rw = pitr.viaService("shop-pitr-rw"); Statement s = rw.createStatement();
        Connection admin = pitr.toPod("shop-pitr-0")) {
      firstSegment = one(admin, "SELECT pg_walfile_name(pg_current_wal_lsn())");
      s.execute("CREATE TABLE during_outage (id int primary key, pad text)");
      for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 100; i++) {
          s.execute("INSERT INTO during_outage VALUES (" + (round * 100 + i) + ", repeat('x', 1000))");
        }
        one(admin, "SELECT pg_switch_wal()");
      }
      PgCluster degraded = Await.until(Duration.ofSeconds(90), "Degraded with reason ArchiveFailing", pitr::get,
          c -> c.getStatus().conditions.stream().anyMatch(k -> "ArchiveFailing".equals(k.getReason())));
      String message = conditionMessage(degraded, "ArchiveFailing");
      System.out.println("store down: " + message);
      assertTrue(message.startsWith("WAL archiving to spec.backup.repository") && message.contains(") has failed for")
          && message.contains("ERROR"), message);
      assertTrue(degraded.getStatus().backup.walSegmentsWaiting >= 3, "WAL kept for the store: "
          + degraded.getStatus().backup.walSegmentsWaiting);
      assertNotNull(degraded.getStatus().backup.archiveError);
      lastSegment = one(admin, "SELECT pg_walfile_name(pg_switch_wal())");
    } finally {
      // Back even when an assertion failed: the later tests need it, and pgBackRest's asynchronous
      // pushers would otherwise outlive the sandbox, retrying.
      store.start();
    }
    String last = lastSegment;
    PgCluster recovered = Await.until(Duration.ofSeconds(120), "archiving caught up and the cluster Healthy again",
        pitr::get, c -> c.getStatus().backup.lastArchivedWal != null
            && c.getStatus().backup.lastArchivedWal.compareTo(last) >= 0
            && c.getStatus().phase == dev.pgcluster.operator.api.v1alpha1.ClusterPhase.Healthy);
    assertEquals(null, recovered.getStatus().backup.archiveError);
    assertEquals(0L, recovered.getStatus().backup.walSegmentsWaiting);
    assertTrue(sandbox.client().v1().events().inNamespace(NS).list().getItems().stream()
        .anyMatch(e -> "ArchiveFailing".equals(e.getReason()) && "shop-pitr".equals(e.getInvolvedObject().getName())));
    // Nothing missing: every segment written while the store was down is an object in the bucket.
    List<String> stored;
    try (Stream<java.nio.file.Path> files = Files.walk(store.bucketDirectory())) {
      stored = files.map(p -> p.getFileName().toString()).filter(n -> n.length() > 24).map(n -> n.substring(0, 24))
          .toList();
    }
    List<String> missing = new ArrayList<>();
    for (long seg = Long.parseLong(firstSegment.substring(16), 16); seg <= Long.parseLong(last.substring(16), 16); seg++) {
      String name = firstSegment.substring(0, 16) + String.format("%08X", seg);
      if (!stored.contains(name)) {
        missing.add(name);
      }
    }
    System.out.printf("store outage: segments %s..%s all archived after the store returned%n", firstSegment, last);
    assertEquals(List.of(), missing, "WAL segments written during the outage and missing from the store");
  }

  PgBackup takeBackup(String name) throws InterruptedException {
    PgBackup request = new PgBackup();
    request.setMetadata(new io.fabric8.kubernetes.api.model.ObjectMetaBuilder().withName(name).withNamespace(NS).build());
    request.setSpec(new dev.pgcluster.operator.api.v1alpha1.PgBackupSpec());
    request.getSpec().cluster = "shop";
    sandbox.client().resources(PgBackup.class).inNamespace(NS).resource(request).create();
    PgBackup done = Await.until(Duration.ofSeconds(180), "backup " + name + " completed or failed",
        () -> sandbox.client().resources(PgBackup.class).inNamespace(NS).withName(name).get(),
        b -> b.getStatus() != null && (PgBackupStatus.COMPLETED.equals(b.getStatus().phase)
            || PgBackupStatus.FAILED.equals(b.getStatus().phase)));
    assertEquals(PgBackupStatus.COMPLETED, done.getStatus().phase, done.getStatus().message);
    return done;
  }

  /** A secret key the store refuses: reported with the field and pgBackRest's words; writes go on. */
  @Test
  @Order(8)
  void wrongCredentialsAreReportedAndTheClusterKeepsServing() throws Exception {
    io.fabric8.kubernetes.api.model.Secret right = store.credentialsSecret(NS, "wrong-key");
    java.util.Map<String, String> data = new java.util.HashMap<>(right.getStringData());
    data.put("ACCESS_SECRET_KEY", "not-the-key");
    right.setStringData(data);
    sandbox.client().secrets().inNamespace(NS).resource(right).create();
    PgCluster applied = sandbox.apply(NS, """
        apiVersion: pgcluster.dev/v1alpha1
        kind: PgCluster
        metadata:
          name: wrongkey
        spec:
          instances: 1
          storage:
            size: 1Gi
        """ + ObjectStore.specYaml("wrong-key", "  "));
    SandboxCluster wrong = new SandboxCluster(sandbox, NS, applied.getMetadata().getName());
    wrong.awaitReadyInstances(1, READY);
    wrong.awaitWritable();  // a primary starts read-only until its agent's first renewal
    try (Connection c = wrong.toPod("wrongkey-0"); Statement s = c.createStatement()) {
      s.execute("CREATE TABLE t (id int)");
      s.execute("INSERT INTO t VALUES (1)");
      s.execute("SELECT pg_switch_wal()");
    }
    PgCluster degraded = Await.until(Duration.ofSeconds(120), "Degraded/ArchiveFailing", wrong::get,
        c -> c.getStatus() != null && c.getStatus().conditions.stream()
            .anyMatch(k -> "ArchiveFailing".equals(k.getReason()) && "True".equals(k.getStatus())));
    String message = conditionMessage(degraded, "ArchiveFailing");
    System.out.println("wrong credentials: " + message);
    assertTrue(message.startsWith("WAL archiving to spec.backup.repository (s3://backups/pgcluster/default at "
        + ObjectStore.ENDPOINT + ") has failed"), message);
    assertTrue(message.contains("ERROR"), "pgBackRest's error is in the message: " + message);
    assertTrue(sandbox.client().v1().events().inNamespace(NS).list().getItems().stream()
        .anyMatch(e -> "ArchiveFailing".equals(e.getReason()) && "wrongkey".equals(e.getInvolvedObject().getName())),
        "an ArchiveFailing event");
    try (Connection c = wrong.toPod("wrongkey-0"); Statement s = c.createStatement()) {
      s.execute("INSERT INTO t VALUES (2)");
      assertEquals("2", one(c, "SELECT count(*) FROM t"), "the cluster keeps taking writes");
    }
    sandbox.client().resources(PgCluster.class).inNamespace(NS).withName("wrongkey").delete();
  }

  /** Until a condition of the cluster has {@code reason}. */
  static PgCluster awaitCondition(SandboxCluster cluster, String reason, Duration timeout) throws InterruptedException {
    return Await.until(timeout, "a condition with reason " + reason, cluster::get,
        c -> c.getStatus() != null && c.getStatus().conditions.stream().anyMatch(k -> reason.equals(k.getReason())));
  }

  static String conditionMessage(PgCluster cluster, String reason) {
    return cluster.getStatus().conditions.stream().filter(k -> reason.equals(k.getReason())).findFirst().orElseThrow()
        .getMessage();
  }

  /** A WAL switch on shop's primary, then until that segment is in the store. */
  void awaitArchivedPastNow() throws Exception {
    String primary = shop.get().getStatus().currentPrimary;
    String segment;
    try (Connection c = shop.toPod(primary)) {
      segment = one(c, "SELECT pg_walfile_name(pg_switch_wal())");
      Await.until(Duration.ofSeconds(60), "segment " + segment + " archived by " + primary,
          () -> one(c, "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver"),
          last -> last.compareTo(segment) >= 0);
    }
  }

  SandboxCluster restore(String name, String target) throws Exception {
    sandbox.apply(NS, recoveryManifest(name, target));
    SandboxCluster restored = new SandboxCluster(sandbox, NS, name);
    restored.awaitReadyInstances(1, READY);
    restored.awaitWritable();  // a primary starts read-only until its agent's first renewal
    return restored;
  }

  static String recoveryManifest(String name, String target) {
    return """
        apiVersion: pgcluster.dev/v1alpha1
        kind: PgCluster
        metadata:
          name: %s
        spec:
          instances: 1
          storage:
            size: 1Gi
          walStorage:
            size: 1Gi
          bootstrap:
            recovery:
              source: shop
        %s""".formatted(name, target)
        + ObjectStore.specYaml(SECRET, "  ");
  }
}
