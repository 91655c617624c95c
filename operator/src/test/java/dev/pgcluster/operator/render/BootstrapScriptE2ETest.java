package dev.pgcluster.operator.render;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.operator.api.v1alpha1.ReplicationMode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The rendered {@code bootstrap.sh} and {@code run.sh} on the machine's real PostgreSQL binaries, with
 * the ConfigMaps and environment the operator renders: initdb of the first primary, a standby cloned
 * through its slot and streaming, refusals, and a former primary rejoining through pg_rewind.
 * The cluster is synchronous (ANY 1), so a bootstrap that waited for standbys would hang here.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class BootstrapScriptE2ETest {
  private final PgCluster cluster = syncCluster();
  private Path base;
  private ScriptPod primary;
  private ScriptPod standby;
  private final List<ScriptPod> pods = new ArrayList<>();

  @BeforeAll
  void initPrimaryAndCloneStandby() throws Exception {
    base = ScriptPod.newBaseDirectory("pgc-bootstrap-");
    primary = pod("c-0", "127.0.3.1");
    standby = pod("c-1", "127.0.3.2");

    primary.topology(cluster, "c-0", false, primary.ip);
    ScriptPod.Result init = primary.bootstrap();
    assertEquals(0, init.exitCode(), init.output());
    assertTrue(init.output().contains("initializing a new cluster"), init.output());
    primary.start();
    primary.liftStartFence();

    standby.topology(cluster, "c-0", true, primary.ip);
    ScriptPod.Result clone = standby.bootstrap();
    assertEquals(0, clone.exitCode(), clone.output());
    assertTrue(clone.output().contains("cloning from " + primary.ip + " with slot pgc_c_1"), clone.output());
    standby.start();
  }

  @AfterAll
  void stopEverything() throws Exception {
    for (ScriptPod pod : pods) {
      pod.close();
    }
    if (base != null) {
      ScriptPod.deleteTree(base);
    }
  }

  @Test
  @Order(1)
  void initdbCreatesRolesDatabaseAndChecksums() throws Exception {
    try (Connection c = primary.connect("postgres"); Statement s = c.createStatement()) {
      assertEquals("on", one(s, "SHOW data_checksums"));
      assertEquals("on", one(s, "SHOW wal_log_hints"));
      assertEquals("true", one(s, "SELECT rolreplication::text FROM pg_roles WHERE rolname = 'replication'"));
      assertEquals("app", one(s, "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'app'"));
      assertEquals("ANY 1 (\"c-0\", \"c-1\", \"c-2\")", one(s, "SHOW synchronous_standby_names"));
    }
  }

  /** run.sh starts a primary read-only, marked as fenced by its agent, which lifts it after its first renewal. */
  @Test
  @Order(1)
  void aPrimaryStartsFencedUntilItsAgentRenewsAndAStandbyDoesNot() throws Exception {
    String marker = dev.pgcluster.operator.ha.SyncReplication.AGENT_FENCE_MARKER;
    primary.stop();
    primary.start();
    try (Connection c = primary.connect("postgres"); Statement s = c.createStatement()) {
      assertEquals("on", one(s, "SHOW default_transaction_read_only"));
      assertEquals("off|" + dev.pgcluster.operator.agent.GrantPolicy.STARTING,
          one(s, "SELECT current_setting('" + marker + "')"));
      SQLException refused = org.junit.jupiter.api.Assertions.assertThrows(SQLException.class,
          () -> s.execute("CREATE TABLE written_while_starting (id int)"));
      assertTrue(refused.getMessage().contains("read-only transaction"), refused.getMessage());
    }
    primary.liftStartFence();
    try (Connection c = primary.connect("postgres"); Statement s = c.createStatement()) {
      assertEquals("off", one(s, "SHOW default_transaction_read_only"));
    }
    try (Connection c = standby.connect("postgres"); Statement s = c.createStatement()) {
      assertEquals("", one(s, "SELECT coalesce(current_setting('" + marker + "', true), '')"));
    }
  }

  @Test
  @Order(2)
  void standbyStreamsThroughItsSlotAndIsASyncCandidate() throws Exception {
    try (Connection c = primary.connect("postgres"); Statement s = c.createStatement()) {
      // The walsender reports streaming a moment before it counts the standby in the quorum.
      awaitTrue("c-1 streaming as a quorum candidate", () -> "streaming quorum".equals(oneOrNull(s,
          "SELECT state || ' ' || sync_state FROM pg_stat_replication WHERE application_name = 'c-1'")));
      assertEquals("true", one(s, "SELECT active::text FROM pg_replication_slots WHERE slot_name = 'pgc_c_1'"));
      s.execute("CREATE TABLE t (id int primary key, what text)");
      s.execute("INSERT INTO t VALUES (1, 'written on the first primary')");
    }
    try (Connection c = standby.connect("postgres"); Statement s = c.createStatement()) {
      assertEquals("true", one(s, "SELECT pg_is_in_recovery()::text"));
      awaitTrue("row replicated", () -> "written on the first primary".equals(
          oneOrNull(s, "SELECT what FROM t WHERE id = 1")));
    }
  }

  @Test
  @Order(3)
  void replicationIsOpenOnlyToTheReplicationRole() throws Exception {
    ScriptPod.Result owner = primary.client(List.of(ScriptPod.PG_BIN.resolve("psql").toString(),
        "host=" + primary.ip + " user=app password=" + ScriptPod.APP_PASSWORD + " replication=true dbname=app",
        "-c", "IDENTIFY_SYSTEM"));
    assertNotEquals(0, owner.exitCode(), owner.output());
    assertTrue(owner.output().contains("pg_hba.conf rejects replication connection"), owner.output());

    ScriptPod.Result replication = primary.client(List.of(ScriptPod.PG_BIN.resolve("psql").toString(),
        "host=" + primary.ip + " user=replication password=" + ScriptPod.REPLICATION_PASSWORD
            + " replication=true dbname=postgres", "-c", "IDENTIFY_SYSTEM"));
    assertEquals(0, replication.exitCode(), replication.output());

    ScriptPod.Result wrongPassword = primary.client(List.of(ScriptPod.PG_BIN.resolve("psql").toString(),
        "host=" + primary.ip + " user=app password=wrong dbname=app", "-c", "SELECT 1"));
    assertTrue(wrongPassword.output().contains("password authentication failed"), wrongPassword.output());
  }

  /** The operator's last look before it makes a primary writable: the agent's fence, written, not yet loaded. */
  @Test
  @Order(3)
  void aFenceMarkerIsSeenInTheFilesBeforeTheReload() throws Exception {
    String marker = dev.pgcluster.operator.ha.SyncReplication.AGENT_FENCE_MARKER;
    try (Connection c = primary.connect("postgres"); Statement s = c.createStatement()) {
      assertFalse(dev.pgcluster.operator.postgres.InstanceProbe.fenceMarkerWritten(c, marker));
      s.execute("ALTER SYSTEM SET " + marker + " = 'off|the primary Lease could not be renewed'");
      assertEquals("", one(s, "SELECT coalesce(current_setting('" + marker + "', true), '')"), "not reloaded yet");
      assertTrue(dev.pgcluster.operator.postgres.InstanceProbe.fenceMarkerWritten(c, marker));
      s.execute("ALTER SYSTEM RESET " + marker);
      assertFalse(dev.pgcluster.operator.postgres.InstanceProbe.fenceMarkerWritten(c, marker));
    }
  }

  @Test
  @Order(4)
  void refusesInitdbWhenTheClusterWasInitializedBefore() throws Exception {
    ScriptPod lostVolume = new ScriptPod(base.resolve("lost"), cluster, "c-0", "127.0.3.9");
    pods.add(lostVolume);
    lostVolume.topology(cluster, "c-0", true, "127.0.3.9");
    ScriptPod.Result result = lostVolume.bootstrap();
    assertEquals(2, result.exitCode(), result.output());
    assertTrue(result.output().contains("REFUSING to initdb"), result.output());
    assertFalse(Files.exists(lostVolume.data.resolve("PG_VERSION")), "no new cluster may appear");
  }

  @Test
  @Order(5)
  void waitsWhileTheTopologyNamesNoPrimary() throws Exception {
    ScriptPod early = new ScriptPod(base.resolve("early"), cluster, "c-2", "127.0.3.8");
    pods.add(early);
    early.topology(cluster, "", false, "127.0.3.1");
    ScriptPod.Result result = early.bootstrap();
    assertEquals(1, result.exitCode(), result.output());
    assertTrue(result.output().contains("does not name a primary yet"), result.output());
  }

  /**
   * The primary writes a transaction no standby received, dies; the standby is promoted; the former
   * primary's init container must rewind it (undoing that transaction) and make it a streaming standby
   * that counts for the new primary's synchronous quorum.
   */
  @Test
  @Order(6)
  void formerPrimaryRejoinsAsStandbyThroughPgRewind() throws Exception {
    standby.stop();
    try (Connection c = primary.connect("postgres"); Statement s = c.createStatement()) {
      s.execute("SET synchronous_commit = local");
      s.execute("INSERT INTO t VALUES (2, 'only on the old primary')");
    }
    primary.kill();

    standby.start();
    try (Connection c = standby.connect("postgres"); Statement s = c.createStatement()) {
      assertEquals("true", one(s, "SELECT pg_promote(true, 30)::text"));
      // Nobody is connected yet to acknowledge synchronously.
      s.execute("SET synchronous_commit = local");
      s.execute("INSERT INTO t VALUES (3, 'written on the new primary')");
    }

    primary.topology(cluster, "c-1", true, standby.ip);
    ScriptPod.Result rejoin = primary.bootstrap();
    assertEquals(0, rejoin.exitCode(), rejoin.output());
    assertTrue(rejoin.output().contains("pg_rewind succeeded"), rejoin.output());
    assertTrue(rejoin.output().contains("ready to start as standby"), rejoin.output());
    primary.start();

    try (Connection c = standby.connect("postgres"); Statement s = c.createStatement()) {
      awaitTrue("c-0 streaming from c-1", () -> "streaming".equals(
          oneOrNull(s, "SELECT state FROM pg_stat_replication WHERE application_name = 'c-0'")));
      assertEquals("true", one(s, "SELECT active::text FROM pg_replication_slots WHERE slot_name = 'pgc_c_0'"));
      // A synchronous commit now returns: the rejoined instance acknowledges it.
      s.execute("SET statement_timeout = '20s'");
      s.execute("INSERT INTO t VALUES (4, 'acknowledged by the rejoined standby')");
    }
    try (Connection c = primary.connect("postgres"); Statement s = c.createStatement()) {
      assertEquals("true", one(s, "SELECT pg_is_in_recovery()::text"));
      awaitTrue("row 4 replicated", () -> oneOrNull(s, "SELECT what FROM t WHERE id = 4") != null);
      assertEquals("written on the new primary", one(s, "SELECT what FROM t WHERE id = 3"));
      assertEquals(null, oneOrNull(s, "SELECT what FROM t WHERE id = 2"), "pg_rewind undoes the lost branch");
      assertEquals("2", one(s, "SELECT received_tli::text FROM pg_stat_wal_receiver"), "following the new timeline");
    }
  }

  /**
   * A standby away while its primary recycled the WAL it needs next (no slot kept it: a new primary has
   * none of the old slots' history) would ask for it forever ("requested WAL segment has already been
   * removed"). Restarted while the WAL is still there it simply resumes; once it is gone, its init
   * container clones it afresh and it streams again.
   */
  @Test
  @Order(7)
  void aStandbyWhoseWalThePrimaryNoLongerHasIsClonedAfresh() throws Exception {
    // c-0 is the standby now, c-1 the primary (the test before).
    primary.stop();
    ScriptPod.Result resume = primary.bootstrap();
    assertEquals(0, resume.exitCode(), resume.output());
    assertTrue(resume.output().contains("data present; restarting as a standby"), resume.output());
    try (Connection c = standby.connect("postgres"); Statement s = c.createStatement()) {
      awaitTrue("c-0's slot inactive", () -> "false".equals(
          oneOrNull(s, "SELECT active::text FROM pg_replication_slots WHERE slot_name = 'pgc_c_0'")));
      s.execute("SELECT pg_drop_replication_slot('pgc_c_0')");
      s.execute("SET synchronous_commit = local");
      // Far more than wal_keep_size (128 MB) and c-0's own recycled files ahead of its position, then
      // checkpoints that remove them.
      for (int i = 0; i < 30; i++) {
        s.execute("INSERT INTO t VALUES (" + (100 + i) + ", 'while c-0 was away')");
        s.execute("SELECT pg_switch_wal()");
      }
      s.execute("CHECKPOINT");
      s.execute("CHECKPOINT");
    }
    ScriptPod.Result reclone = primary.bootstrap();
    assertEquals(0, reclone.exitCode(), reclone.output());
    assertTrue(reclone.output().contains("no longer has the WAL this standby needs next"), reclone.output());
    assertTrue(reclone.output().contains("clone complete"), reclone.output());
    primary.start();
    try (Connection c = standby.connect("postgres"); Statement s = c.createStatement()) {
      awaitTrue("c-0 streaming from c-1 again", () -> "streaming".equals(
          oneOrNull(s, "SELECT state FROM pg_stat_replication WHERE application_name = 'c-0'")));
    }
    try (Connection c = primary.connect("postgres"); Statement s = c.createStatement()) {
      awaitTrue("the rows written while it was away", () -> "30".equals(
          oneOrNull(s, "SELECT count(*)::text FROM t WHERE id >= 100")));
    }
  }

  private ScriptPod pod(String name, String ip) throws Exception {
    ScriptPod pod = new ScriptPod(base, cluster, name, ip);
    pods.add(pod);
    return pod;
  }

  private static PgCluster syncCluster() {
    PgCluster cluster = TestClusters.cluster("c", 3);
    cluster.getSpec().replication.mode = ReplicationMode.SYNC;
    return cluster;
  }

  private static String one(Statement s, String sql) throws SQLException {
    String value = oneOrNull(s, sql);
    if (value == null) {
      fail("no row for: " + sql);
    }
    return value;
  }

  private static String oneOrNull(Statement s, String sql) throws SQLException {
    try (ResultSet rs = s.executeQuery(sql)) {
      return rs.next() ? rs.getString(1) : null;
    }
  }

  private static void awaitTrue(String what, Callable<Boolean> condition) throws Exception {
    long deadline = System.nanoTime() + 30_000_000_000L;
    while (System.nanoTime() < deadline) {
      if (Boolean.TRUE.equals(condition.call())) {
        return;
      }
      Thread.sleep(100);
    }
    fail("timed out after 30 s waiting for: " + what);
  }
}
