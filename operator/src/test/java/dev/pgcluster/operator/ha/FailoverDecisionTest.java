package dev.pgcluster.operator.ha;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgcluster.operator.api.v1alpha1.DelayedReplicasSpec;
import dev.pgcluster.operator.api.v1alpha1.Durability;
import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.operator.api.v1alpha1.ReplicationMode;
import dev.pgcluster.operator.naming.PgClusterNames;
import dev.pgcluster.operator.render.TestClusters;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The failover table. An instance is written {@code name:state:received}: state p = running as primary,
 * s = standby, x = unreachable; received is the last received LSN.
 */
class FailoverDecisionTest {

  @ParameterizedTest(name = "[{index}] {0}, {1} failures, instances {2} -> {3}")
  @CsvSource(delimiter = '|', textBlock = """
      async          | 1 | pg-0:x pg-1:s:0/500 pg-2:s:0/600           | wait
      async          | 3 | pg-0:x pg-1:s:0/500 pg-2:s:0/600           | promote pg-2
      async          | 3 | pg-0:x pg-1:s:0/600 pg-2:s:0/600           | promote pg-1
      async          | 3 | pg-0:x pg-1:x pg-2:s:0/100                 | promote pg-2
      async          | 3 | pg-0:x pg-1:x pg-2:x                       | blocked
      async-delayed  | 3 | pg-0:x pg-1:x pg-2:s:0/900                 | blocked
      async-delayed  | 3 | pg-0:x pg-1:s:0/100 pg-2:s:0/900           | promote pg-1
      sync-any1      | 3 | pg-0:x pg-1:s:0/500 pg-2:x                 | blocked
      sync-any1      | 3 | pg-0:x pg-1:s:0/500 pg-2:s:0/400           | promote pg-1
      sync-any2      | 3 | pg-0:x pg-1:s:0/500 pg-2:x                 | promote pg-1
      sync-any1-pref | 3 | pg-0:x pg-1:s:0/500 pg-2:x                 | promote pg-1
      disabled       | 9 | pg-0:x pg-1:s:0/500 pg-2:s:0/600           | blocked
      """)
  void decidesWhetherAndWhomToPromote(String setup, int failures, String instances, String expected) {
    PgCluster cluster = cluster(setup);
    FailoverPolicy.Decision decision = FailoverPolicy.decide(cluster.getSpec(), state(instances, failures), failures);
    if (expected.equals("wait")) {
      assertInstanceOf(FailoverPolicy.Waiting.class, decision);
    } else if (expected.equals("blocked")) {
      assertInstanceOf(FailoverPolicy.Blocked.class, decision);
    } else {
      FailoverPolicy.Promote promote = assertInstanceOf(FailoverPolicy.Promote.class, decision);
      assertEquals(expected.substring("promote ".length()), promote.candidate().name());
    }
  }

  @Test
  void blockedUnderRequiredDurabilitySaysWhy() {
    FailoverPolicy.Decision decision = FailoverPolicy.decide(cluster("sync-any1").getSpec(),
        state("pg-0:x pg-1:s:0/500 pg-2:x", 3), 3);
    String reason = assertInstanceOf(FailoverPolicy.Blocked.class, decision).reason();
    assertTrue(reason.contains("only 1 of the 2 synchronous standbys are reachable"), reason);
  }

  @Test
  void theDeciderMovesTheLeaseThenFencesThenPromotes() {
    PgCluster cluster = cluster("async");
    // 1. The holder is gone for good: move the Lease to the most advanced standby.
    List<Action> first = decide(cluster, state("pg-0:x pg-1:s:0/500 pg-2:s:0/600", 3));
    assertTrue(first.stream().anyMatch(a -> a instanceof Action.TransferPrimary t && t.to().equals("pg-2")
        && t.from().equals("pg-0") && t.fromUid().equals("uid-pg-0")), first.toString());
    // 2. The Lease names pg-2 but the former primary's pod still exists: fence it, do not promote yet.
    ClusterState moved = withRecord(state("pg-0:x pg-1:s:0/500 pg-2:s:0/600", 0),
        new PrimaryRecord("pg-2", 1, true, "2", "pg-0", "uid-pg-0", null, "failover"));
    List<Action> second = decide(cluster, moved);
    assertTrue(second.contains(new Action.Fence("pg-0", "uid-pg-0",
        "former primary pg-0 must be gone before pg-2 is promoted")), second.toString());
    assertTrue(second.stream().noneMatch(a -> a instanceof Action.Promote), second.toString());
    // 3. The former primary's pod is gone (a new one, other uid, may exist): promote the holder.
    ClusterState fenced = withRecord(state("pg-1:s:0/500 pg-2:s:0/600", 0),
        new PrimaryRecord("pg-2", 1, true, "3", "pg-0", "uid-pg-0", null, "failover"));
    assertTrue(decide(cluster, fenced).stream().anyMatch(a -> a instanceof Action.Promote p && p.pod().equals("pg-2")));
  }

  /**
   * The grant: a primary that answers SQL but stopped renewing its Lease has fenced itself, and is
   * failed over at once (no probe count); a promotion waits until the former primary's grant is over,
   * except after a switchover, where the operator made it read-only itself.
   */
  @ParameterizedTest(name = "[{index}] holder silent {0} -> {1}")
  @CsvSource(delimiter = '|', textBlock = """
      false | none
      true  | transfer pg-2
      """)
  void aPrimaryThatStoppedRenewingItsGrantIsFailedOver(boolean silent, String expected) {
    ClusterState state = state("pg-0:p pg-1:s:0/500 pg-2:s:0/600", 0)
        .withGrant(new GrantWatch.Grant(silent, java.time.Duration.ofSeconds(silent ? 6 : 1), java.time.Duration.ZERO,
            false));
    List<Action> actions = decide(cluster("async"), state);
    if (expected.equals("none")) {
      assertTrue(actions.stream().noneMatch(a -> a instanceof Action.TransferPrimary), actions.toString());
    } else {
      assertTrue(actions.stream().anyMatch(a -> a instanceof Action.TransferPrimary t && t.to().equals("pg-2")
          && t.from().equals("pg-0") && t.reason().contains("has not renewed its grant")), actions.toString());
    }
  }

  /**
   * Probes failing while the holder's agent still renews: the primary runs (its agent renews only while
   * its PostgreSQL answers as a primary), and only the operator cannot reach it. No failover then, under
   * any mode; once renewals stop, the probe count decides as before.
   */
  @ParameterizedTest(name = "[{index}] {0}, renewing {1} -> {2}")
  @CsvSource(delimiter = '|', textBlock = """
      async     | true  | blocked
      async     | false | promote pg-2
      sync-any1 | true  | blocked
      sync-any1 | false | promote pg-2
      """)
  void aPrimaryWhoseAgentStillRenewsIsNotFailedOverForFailedProbes(String setup, boolean renewing, String expected) {
    ClusterState state = state("pg-0:x pg-1:s:0/500 pg-2:s:0/600", 3)
        .withGrant(new GrantWatch.Grant(false, java.time.Duration.ofMillis(renewing ? 800 : 2500),
            java.time.Duration.ZERO, renewing));
    FailoverPolicy.Decision decision = FailoverPolicy.decide(cluster(setup).getSpec(), state, 3);
    if (expected.equals("blocked")) {
      String reason = assertInstanceOf(FailoverPolicy.Blocked.class, decision).reason();
      assertTrue(reason.contains("only the operator cannot reach it"), reason);
    } else {
      assertEquals("pg-2", assertInstanceOf(FailoverPolicy.Promote.class, decision).candidate().name());
    }
  }

  @ParameterizedTest(name = "[{index}] former grant left {0} ms, former read-only {1} -> promote {2}")
  @CsvSource(delimiter = '|', textBlock = """
      0    | false | true
      1200 | false | false
      1200 | true  | true
      """)
  void theHolderIsPromotedOnlyOnceTheFormerPrimarysGrantIsOver(long left, boolean formerReadOnly, boolean promote) {
    PrimaryRecord record = new PrimaryRecord("pg-2", 1, true, "3", "pg-0", "uid-pg-0", null, "failover", null, null,
        null, 5, formerReadOnly);
    ClusterState state = withRecord(state("pg-1:s:0/500 pg-2:s:0/600", 0), record)
        .withGrant(new GrantWatch.Grant(false, java.time.Duration.ZERO,
            formerReadOnly ? java.time.Duration.ZERO : java.time.Duration.ofMillis(left), false));
    List<Action> actions = decide(cluster("async"), state);
    assertEquals(promote, actions.stream().anyMatch(a -> a instanceof Action.Promote p && p.pod().equals("pg-2")),
        actions.toString());
  }

  /**
   * While the holder waits for its promotion, a standby that received more is promoted instead, but
   * never the former primary itself (rejoined with WAL from after the move), and not after a switchover
   * (the holder replayed all the former primary wrote while it took writes).
   */
  @ParameterizedTest(name = "[{index}] former read-only {0}, instances {1} -> {2}")
  @CsvSource(delimiter = '|', textBlock = """
      false | pg-0:s:0/900 pg-1:s:0/500 pg-2:s:0/600 | promote pg-2
      false | pg-0:s:0/500 pg-1:s:0/900 pg-2:s:0/600 | transfer pg-1
      true  | pg-0:s:0/500 pg-1:s:0/900 pg-2:s:0/600 | promote pg-2
      """)
  void theFormerPrimaryIsNeverItsOwnSuccessor(boolean formerReadOnly, String instances, String expected) {
    PrimaryRecord record = new PrimaryRecord("pg-2", 1, true, "3", "pg-0", "uid-other", null, "change", null, null,
        null, 5, formerReadOnly);
    List<Action> actions = decide(cluster("async"), withRecord(state(instances, 0), record));
    String[] e = expected.split(" ");
    if (e[0].equals("promote")) {
      assertTrue(actions.stream().anyMatch(a -> a instanceof Action.Promote p && p.pod().equals(e[1])), actions.toString());
    } else {
      assertTrue(actions.stream().anyMatch(a -> a instanceof Action.TransferPrimary t && t.to().equals(e[1])),
          actions.toString());
    }
  }

  @Test
  void aSecondWritablePrimaryIsAlwaysFenced() {
    List<Action> actions = decide(cluster("async"), state("pg-0:p pg-1:p pg-2:s:0/600", 0));
    assertTrue(actions.stream().anyMatch(a -> a instanceof Action.Fence f && f.pod().equals("pg-1")), actions.toString());
    assertTrue(actions.stream().noneMatch(a -> a instanceof Action.Fence f && f.pod().equals("pg-0")));
  }

  @Test
  void nothingHappensBeforeTheFirstPrimaryEverRan() {
    ClusterState bootstrapping = withRecord(state("pg-0:x pg-1:x", 9), new PrimaryRecord("pg-0", 0, false, "1"));
    assertTrue(decide(cluster("async"), bootstrapping).stream()
        .noneMatch(a -> a instanceof Action.TransferPrimary || a instanceof Action.Promote));
  }

  @Test
  void underDurabilityRequiredThePromotionWaitsForEnoughStandbysToAnswerAgain() {
    PrimaryRecord moved = new PrimaryRecord("pg-2", 1, true, "3", "pg-0", "uid-pg-0", null, "failover");
    // ANY 1 of two synchronous standbys: both must be seen to know the promoted one holds every commit.
    ClusterState oneSilent = withRecord(state("pg-1:x pg-2:s:0/600", 0), moved);
    assertTrue(decide(cluster("sync-any1"), oneSilent).stream().noneMatch(a -> a instanceof Action.Promote),
        "pg-1 stopped answering after the Lease moved: it may hold commits pg-2 lacks");
    ClusterState bothSeen = withRecord(state("pg-1:s:0/500 pg-2:s:0/600", 0), moved);
    assertTrue(decide(cluster("sync-any1"), bothSeen).stream().anyMatch(a -> a instanceof Action.Promote p
        && p.pod().equals("pg-2")));
    assertTrue(decide(cluster("sync-any1-pref"), oneSilent).stream().anyMatch(a -> a instanceof Action.Promote),
        "durability preferred does not wait");
    PrimaryRecord switchedOver = new PrimaryRecord("pg-2", 1, true, "3", "pg-0", "uid-pg-0", null, "switchover", null,
        null, null, 5, true);
    assertTrue(decide(cluster("sync-any1"), withRecord(state("pg-1:x pg-2:s:0/600", 0), switchedOver)).stream()
        .anyMatch(a -> a instanceof Action.Promote), "after a switchover the target replayed everything");
  }

  /**
   * Fenced by the user: a fenced standby is never a candidate (the next one is, even if behind); a
   * fenced primary is not failed over while it is fenced.
   */
  @ParameterizedTest(name = "[{index}] {0}, fenced {1}, instances {2} -> {3}")
  @CsvSource(delimiter = '|', textBlock = """
      async     | pg-2      | pg-0:x pg-1:s:0/500 pg-2:s:0/600 | promote pg-1
      async     | pg-1,pg-2 | pg-0:x pg-1:s:0/500 pg-2:s:0/600 | blocked
      async     | pg-0      | pg-0:x pg-1:s:0/500 pg-2:s:0/600 | blocked fenced
      sync-any1 | pg-2      | pg-0:x pg-1:s:0/500 pg-2:s:0/600 | blocked
      async     | pg-9      | pg-0:x pg-1:s:0/500 pg-2:s:0/600 | promote pg-2
      """)
  void fencedInstancesAreNeverPromotedAndAFencedPrimaryIsNotFailedOver(String setup, String fenced, String instances,
      String expected) {
    ClusterState state = state(instances, 3).withFencedByUser(java.util.Set.of(fenced.split(",")));
    FailoverPolicy.Decision decision = FailoverPolicy.decide(cluster(setup).getSpec(), state, 3);
    if (expected.startsWith("blocked")) {
      String reason = assertInstanceOf(FailoverPolicy.Blocked.class, decision).reason();
      if (expected.endsWith("fenced")) {
        assertTrue(reason.contains("pg-0 is fenced (pgcluster.dev/fenced-instances): no failover"), reason);
      }
    } else {
      assertEquals(expected.substring("promote ".length()),
          assertInstanceOf(FailoverPolicy.Promote.class, decision).candidate().name());
    }
  }

  /**
   * The Lease holder fenced before its promotion is never promoted: the best unfenced successor takes the
   * Lease; under durability required only when enough standbys are seen.
   */
  @ParameterizedTest(name = "[{index}] {0}, instances {1} -> {2}")
  @CsvSource(delimiter = '|', textBlock = """
      async     | pg-1:s:0/500 pg-2:s:0/600 | transfer pg-1
      sync-any1 | pg-1:s:0/500 pg-2:s:0/600 | none
      sync-any2 | pg-1:s:0/500 pg-2:s:0/600 | transfer pg-1
      async     | pg-1:x pg-2:s:0/600       | none
      disabled  | pg-1:s:0/500 pg-2:s:0/600 | none
      """)
  void aHolderFencedBeforeItsPromotionHandsTheLeaseOn(String setup, String instances, String expected) {
    PrimaryRecord record = new PrimaryRecord("pg-2", 1, true, "3", "pg-0", "uid-pg-0", null, "failover");
    ClusterState state = withRecord(state(instances, 0), record).withFencedByUser(java.util.Set.of("pg-2"));
    List<Action> actions = decide(cluster(setup), state);
    assertTrue(actions.stream().noneMatch(a -> a instanceof Action.Promote), actions.toString());
    if (expected.equals("none")) {
      assertTrue(actions.stream().noneMatch(a -> a instanceof Action.TransferPrimary), actions.toString());
    } else {
      assertTrue(actions.stream().anyMatch(a -> a instanceof Action.TransferPrimary t && t.to().equals("pg-1")
          && t.from().equals("pg-0") && t.reason().startsWith("pg-2 was fenced before its promotion")),
          actions.toString());
    }
  }

  /**
   * A forced promotion (spec.switchover with force) names the standby to promote once the primary has
   * failed: even when the operator would not fail over (disabled, too few seen under durability
   * required) or would choose another. Not before the primary failed, not while its agent renews, not a
   * fenced, unreachable or delayed target, not an id already done.
   */
  @ParameterizedTest(name = "[{index}] {0}, {1} failures, target {2}, done {3}, instances {4} -> {5}")
  @CsvSource(delimiter = '|', textBlock = """
      disabled      | 3 | pg-1 | -  | pg-0:x pg-1:s:0/500 pg-2:s:0/600 | promote pg-1
      sync-any1     | 3 | pg-1 | -  | pg-0:x pg-1:s:0/500 pg-2:x       | promote pg-1
      async         | 3 | pg-1 | -  | pg-0:x pg-1:s:0/500 pg-2:s:0/600 | promote pg-1
      disabled      | 1 | pg-1 | -  | pg-0:x pg-1:s:0/500 pg-2:s:0/600 | wait
      disabled      | 3 | pg-1 | f1 | pg-0:x pg-1:s:0/500 pg-2:s:0/600 | blocked
      disabled      | 3 | pg-1 | -  | pg-0:x pg-1:x pg-2:s:0/600       | blocked
      async-delayed | 3 | pg-2 | -  | pg-0:x pg-1:s:0/500 pg-2:s:0/600 | promote pg-1
      """)
  void aForcedPromotionNamesTheStandbyOnceThePrimaryHasFailed(String setup, int failures, String target, String done,
      String instances, String expected) {
    PgCluster cluster = cluster(setup);
    cluster.getSpec().switchover = new dev.pgcluster.operator.api.v1alpha1.SwitchoverSpec();
    cluster.getSpec().switchover.target = target;
    cluster.getSpec().switchover.id = "f1";
    cluster.getSpec().switchover.force = true;
    ClusterState state = withRecord(state(instances, failures), new PrimaryRecord("pg-0", 0, true, "1", null, null,
        null, null, done.equals("-") ? null : done));
    FailoverPolicy.Decision decision = FailoverPolicy.decide(cluster.getSpec(), state, failures);
    if (expected.equals("wait")) {
      assertInstanceOf(FailoverPolicy.Waiting.class, decision);
    } else if (expected.equals("blocked")) {
      assertInstanceOf(FailoverPolicy.Blocked.class, decision);
    } else {
      FailoverPolicy.Promote promote = assertInstanceOf(FailoverPolicy.Promote.class, decision);
      assertEquals(expected.substring("promote ".length()), promote.candidate().name());
      assertTrue(promote.mayLoseCommits());
      assertEquals(target.equals(promote.candidate().name()) ? "f1" : null, promote.switchoverId());
    }
    cluster.getSpec().switchover.force = false;
    assertTrue(!(FailoverPolicy.decide(cluster.getSpec(), state, failures) instanceof FailoverPolicy.Promote p)
        || p.switchoverId() == null, "without force it is an ordinary failover decision");
  }

  /** The forced holder is promoted though another standby received more, and records the request's id. */
  @Test
  void aForcedHolderIsPromotedEvenBehindAnother() {
    PgCluster cluster = cluster("sync-any1");
    cluster.getSpec().switchover = new dev.pgcluster.operator.api.v1alpha1.SwitchoverSpec();
    cluster.getSpec().switchover.target = "pg-1";
    cluster.getSpec().switchover.id = "f1";
    cluster.getSpec().switchover.force = true;
    List<Action> first = decide(cluster, state("pg-0:x pg-1:s:0/500 pg-2:x", 3));
    assertTrue(first.contains(new Action.TransferPrimary("pg-1", "pg-0", "uid-pg-0", ((Action.TransferPrimary)
        first.get(first.size() - 1)).reason(), true, "f1")), first.toString());
    PrimaryRecord forced = new PrimaryRecord("pg-1", 1, true, "3", "pg-0", "uid-other", null, "forced", "f1", null,
        null, 5, false, null, null, true);
    List<Action> actions = decide(cluster, withRecord(state("pg-1:s:0/500 pg-2:s:0/600", 0), forced));
    assertTrue(actions.stream().anyMatch(a -> a instanceof Action.Promote p && p.pod().equals("pg-1")), actions.toString());
    PrimaryRecord failover = new PrimaryRecord("pg-1", 1, true, "3", "pg-0", "uid-other", null, "failover", "f1", null,
        null, 5, false, null, null, false);
    actions = decide(cluster, withRecord(state("pg-1:s:0/500 pg-2:s:0/600", 0), failover));
    assertTrue(actions.stream().anyMatch(a -> a instanceof Action.TransferPrimary t && t.to().equals("pg-2")),
        "an ordinary failover's holder still yields to a more advanced standby: " + actions);
  }

  private static List<Action> decide(PgCluster cluster, ClusterState state) {
    return Decider.decide(cluster.getSpec(), PgClusterNames.of(cluster), state);
  }

  private static PgCluster cluster(String setup) {
    PgCluster cluster = TestClusters.cluster("pg", 3);
    var replication = cluster.getSpec().replication;
    switch (setup) {
      case "async-delayed" -> {
        replication.delayedReplicas = new DelayedReplicasSpec();
        replication.delayedReplicas.instances = 1;
        replication.delayedReplicas.applyDelay = "1h";
      }
      case "sync-any1", "sync-any2", "sync-any1-pref" -> {
        replication.mode = ReplicationMode.SYNC;
        replication.number = setup.equals("sync-any2") ? 2 : 1;
        replication.durability = setup.endsWith("pref") ? Durability.PREFERRED : Durability.REQUIRED;
      }
      case "disabled" -> cluster.getSpec().failover.enabled = false;
      default -> { }
    }
    return cluster;
  }

  private static ClusterState state(String instances, int failures) {
    List<InstanceState> list = new ArrayList<>();
    for (String spec : instances.trim().split("\\s+")) {
      String[] parts = spec.split(":", 3);
      int ordinal = Integer.parseInt(parts[0].substring(3));
      InstanceFacts facts = switch (parts[1]) {
        case "p" -> new InstanceFacts(false, 1, "0/900", null, null);
        case "s" -> new InstanceFacts(true, 1, parts[2], parts[2], 0.0);
        default -> null;
      };
      list.add(new InstanceState(parts[0], ordinal, facts != null, "127.0.1." + (ordinal + 1), null, facts,
          facts == null ? "connection refused" : null, "uid-" + parts[0]));
    }
    return new ClusterState(new PrimaryRecord("pg-0", 0, true, "1"), list, List.of(), List.of(), Map.of(), failures);
  }

  private static ClusterState withRecord(ClusterState state, PrimaryRecord record) {
    return new ClusterState(record, state.instances(), state.slots(), state.standbys(), state.primarySettings(),
        state.primaryFailures());
  }
}
