package dev.pgcluster.operator.ha;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgcluster.operator.api.v1alpha1.DelayedReplicasSpec;
import dev.pgcluster.operator.api.v1alpha1.InstanceRole;
import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.operator.naming.PgClusterNames;
import dev.pgcluster.operator.render.TestClusters;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Each test is one row of the decision table: an observed state and the actions it must produce. */
class DeciderTest {
  private static final InstanceFacts PRIMARY = new InstanceFacts(false, 1, "0/3000000", null, null);
  private static final InstanceFacts STANDBY = new InstanceFacts(true, 1, "0/3000000", "0/3000000", 0.0);

  @Test
  void labelsTheLeaseHolderPrimaryAndTheOthersReplicas() {
    PgCluster cluster = TestClusters.cluster("pg", 3);
    ClusterState state = state(true, List.of(), instance(0, null, PRIMARY), instance(1, null, STANDBY),
        instance(2, "primary", STANDBY));
    List<Action> actions = decide(cluster, state);
    assertTrue(actions.contains(new Action.SetRoleLabel("pg-0", InstanceRole.PRIMARY)));
    assertTrue(actions.contains(new Action.SetRoleLabel("pg-1", InstanceRole.REPLICA)));
    assertTrue(actions.contains(new Action.SetRoleLabel("pg-2", InstanceRole.REPLICA)), "a stale primary label is corrected");
  }

  @Test
  void delayedOrdinalsGetTheirOwnRoleSoReadOnlyTrafficSkipsThem() {
    PgCluster cluster = TestClusters.cluster("pg", 4);
    cluster.getSpec().replication.delayedReplicas = new DelayedReplicasSpec();
    cluster.getSpec().replication.delayedReplicas.instances = 1;
    cluster.getSpec().replication.delayedReplicas.applyDelay = "1h";
    ClusterState state = state(true, List.of(), instance(0, "primary", PRIMARY), instance(3, null, STANDBY));
    assertTrue(decide(cluster, state).contains(new Action.SetRoleLabel("pg-3", InstanceRole.DELAYED_REPLICA)));
  }

  @Test
  void correctLabelsProduceNoLabelActions() {
    ClusterState state = state(true, List.of(), instance(0, "primary", PRIMARY), instance(1, "replica", STANDBY));
    assertTrue(decide(TestClusters.cluster("pg", 2), state).stream().noneMatch(a -> a instanceof Action.SetRoleLabel));
  }

  @Test
  void marksTheClusterInitializedOnceTheFirstPrimaryRuns() {
    ClusterState fresh = state(false, List.of(), instance(0, "primary", PRIMARY));
    assertTrue(decide(TestClusters.cluster("pg", 1), fresh).contains(new Action.MarkInitialized()));
    ClusterState done = state(true, List.of(), instance(0, "primary", PRIMARY));
    assertFalse(decide(TestClusters.cluster("pg", 1), done).contains(new Action.MarkInitialized()));
  }

  @Test
  void neverMarksInitializedWhileTheHolderIsNotARunningPrimaryThatRenewsItsGrant() {
    ClusterState down = state(false, List.of(), instance(0, "primary", null));
    assertFalse(decide(TestClusters.cluster("pg", 1), down).contains(new Action.MarkInitialized()));
    ClusterState inRecovery = state(false, List.of(), instance(0, "primary", STANDBY));
    assertFalse(decide(TestClusters.cluster("pg", 1), inRecovery).contains(new Action.MarkInitialized()));
    ClusterState silent = state(false, List.of(), instance(0, "primary", PRIMARY)).withGrant(SILENT);
    assertFalse(decide(TestClusters.cluster("pg", 1), silent).contains(new Action.MarkInitialized()),
        "a primary whose agent never renewed its grant is not a healthy primary");
  }

  @Test
  void theFormerPrimarysRewindReportIsRecordedOncePerEpoch() {
    String report = "{\"epoch\":2,\"timeline\":2,\"forkPoint\":\"0/3000060\",\"commits\":3}";
    InstanceState rejoined = new InstanceState("pg-0", 0, true, "10.0.0.1", "replica", STANDBY, null, "u0", null,
        false, report);
    ClusterState state = new ClusterState(new PrimaryRecord("pg-1", 2, true, "7", "pg-0", "u0", null, "failover"),
        List.of(rejoined, instance(1, "primary", PRIMARY)), List.of(), List.of());
    assertTrue(decide(TestClusters.cluster("pg", 2), state).contains(new Action.RecordRewind("pg-0", report)));
    ClusterState recorded = new ClusterState(new PrimaryRecord("pg-1", 2, true, "8", "pg-0", "u0", null, "failover",
        null, null, null, 5, false, report), state.instances(), List.of(), List.of());
    assertFalse(decide(TestClusters.cluster("pg", 2), recorded).stream().anyMatch(a -> a instanceof Action.RecordRewind));
    ClusterState olderEpoch = new ClusterState(new PrimaryRecord("pg-1", 3, true, "9", "pg-0", "u0", null, "failover"),
        state.instances(), List.of(), List.of());
    assertFalse(decide(TestClusters.cluster("pg", 2), olderEpoch).stream().anyMatch(a -> a instanceof Action.RecordRewind),
        "a report from an earlier epoch is not this change's");
  }

  /** holderIdentity edited by hand (to a standby): put back, and the running primary is not fenced. */
  @Test
  void aHolderEditedByHandIsPutBackAndThePrimaryIsNotTouched() {
    PrimaryRecord edited = new PrimaryRecord("pg-0", 1, true, "5", null, null, null, "failover", null, null, null, 5,
        false, null, "pg-1");
    ClusterState state = new ClusterState(edited, List.of(instance(0, "primary", PRIMARY), instance(1, "replica",
        STANDBY)), List.of(), List.of());
    List<Action> actions = decide(TestClusters.cluster("pg", 2), state);
    assertTrue(actions.contains(new Action.RestoreHolder("pg-0", "pg-1")), actions.toString());
    assertFalse(actions.stream().anyMatch(a -> a instanceof Action.Fence || a instanceof Action.TransferPrimary
        || a instanceof Action.Promote), actions.toString());
  }

  @Test
  void theLeaseDurationFollowsTheSpec() {
    PgCluster cluster = TestClusters.cluster("pg", 1);
    cluster.getSpec().failover.leaseDurationSeconds = 8;
    ClusterState state = state(true, List.of(), instance(0, "primary", PRIMARY));
    assertTrue(decide(cluster, state).contains(new Action.SetLeaseDuration(8)));
    cluster.getSpec().failover.leaseDurationSeconds = 4;
    assertFalse(decide(cluster, state).stream().anyMatch(a -> a instanceof Action.SetLeaseDuration));
  }

  @Test
  void createsASlotForEveryStandbyOrdinalInTheSpec() {
    ClusterState state = state(true, List.of(new SlotInfo("pgc_pg_1", true, "reserved")),
        instance(0, "primary", PRIMARY), instance(1, "replica", STANDBY));
    List<Action> actions = decide(TestClusters.cluster("pg", 3), state);
    assertTrue(actions.contains(new Action.CreateSlot("pgc_pg_2")), "slot reserved before the pod exists");
    assertFalse(actions.contains(new Action.CreateSlot("pgc_pg_1")));
    assertFalse(actions.contains(new Action.CreateSlot("pgc_pg_0")), "the primary has no slot of its own");
  }

  @Test
  void dropsSlotsOfStandbysRemovedByScaleDown() {
    ClusterState state = state(true,
        List.of(new SlotInfo("pgc_pg_1", true, "reserved"), new SlotInfo("pgc_pg_4", false, "reserved")),
        instance(0, "primary", PRIMARY), instance(1, "replica", STANDBY));
    List<Action> actions = decide(TestClusters.cluster("pg", 2), state);
    assertTrue(actions.contains(new Action.DropSlot("pgc_pg_4")));
    assertFalse(actions.contains(new Action.DropSlot("pgc_pg_1")));
  }

  @Test
  void dropsEveryOperatorSlotWhenSlotsAreTurnedOff() {
    PgCluster cluster = TestClusters.cluster("pg", 2);
    cluster.getSpec().replication.slots = false;
    ClusterState state = state(true, List.of(new SlotInfo("pgc_pg_1", false, "reserved")),
        instance(0, "primary", PRIMARY), instance(1, "replica", STANDBY));
    assertEquals(List.of(new Action.DropSlot("pgc_pg_1")), decide(cluster, state));
  }

  @Test
  void touchesNoSlotWhenThePrimaryIsUnreachable() {
    ClusterState state = state(true, List.of(), instance(0, "primary", null), instance(1, "replica", STANDBY));
    assertTrue(decide(TestClusters.cluster("pg", 3), state).isEmpty());
  }

  @Test
  void aStandbyCutOffItsUpstreamForAPromotionFollowsThePrimaryAgain() {
    InstanceFacts detached = new InstanceFacts(true, 1, "0/3000000", "0/3000000", 0.0, true);
    ClusterState state = state(true, List.of(), instance(0, "primary", PRIMARY), instance(1, "replica", detached),
        instance(2, "replica", STANDBY));
    List<Action> actions = decide(TestClusters.cluster("pg", 3), state);
    assertTrue(actions.contains(new Action.ReattachStandby("pg-1")));
    assertFalse(actions.contains(new Action.ReattachStandby("pg-2")));
    ClusterState noPrimary = state(true, List.of(), instance(0, "primary", null), instance(1, "replica", detached));
    assertFalse(decide(TestClusters.cluster("pg", 3), noPrimary).contains(new Action.ReattachStandby("pg-1")),
        "not while no primary runs: the failover is still under way");
  }

  /** A fenced standby leaves -ro (label fenced); a fenced primary keeps -rw but is made read-only. */
  @Test
  void aFencedStandbyLeavesTheServicesAndAFencedPrimaryTakesNoWrites() {
    ClusterState state = new ClusterState(new PrimaryRecord("pg-0", 0, true, "1"),
        List.of(instance(0, "primary", PRIMARY), instance(1, "replica", STANDBY), instance(2, "replica", STANDBY)),
        List.of(), List.of(), java.util.Map.of("default_transaction_read_only", "off"));
    List<Action> standbyFenced = decide(TestClusters.cluster("pg", 3), state.withFencedByUser(java.util.Set.of("pg-1")));
    assertTrue(standbyFenced.contains(new Action.SetRoleLabel("pg-1", InstanceRole.FENCED)), standbyFenced.toString());
    assertFalse(standbyFenced.stream().anyMatch(a -> a instanceof Action.ApplyPrimarySettings s
        && s.settings().containsKey("default_transaction_read_only")), standbyFenced.toString());
    List<Action> primaryFenced = decide(TestClusters.cluster("pg", 3), state.withFencedByUser(java.util.Set.of("pg-0")));
    assertTrue(primaryFenced.stream().noneMatch(a -> a instanceof Action.SetRoleLabel), primaryFenced.toString());
    assertTrue(primaryFenced.stream().anyMatch(a -> a instanceof Action.ApplyPrimarySettings s
        && "on".equals(s.settings().get("default_transaction_read_only")) && s.reason().startsWith("fenced")),
        primaryFenced.toString());
    // Unfenced: the label comes back, writes too.
    ClusterState after = new ClusterState(state.primary(),
        List.of(instance(0, "primary", PRIMARY), instance(1, "fenced", STANDBY), instance(2, "replica", STANDBY)),
        List.of(), List.of(), java.util.Map.of("default_transaction_read_only", "on"));
    List<Action> unfenced = decide(TestClusters.cluster("pg", 3), after);
    assertTrue(unfenced.contains(new Action.SetRoleLabel("pg-1", InstanceRole.REPLICA)), unfenced.toString());
    assertTrue(unfenced.stream().anyMatch(a -> a instanceof Action.ApplyPrimarySettings s
        && "off".equals(s.settings().get("default_transaction_read_only"))), unfenced.toString());
  }

  /** No switchover to a fenced standby, and none away from a fenced primary. */
  @Test
  void aSwitchoverNeitherTargetsAFencedStandbyNorLeavesAFencedPrimary() {
    PgCluster cluster = TestClusters.cluster("pg", 3);
    cluster.getSpec().switchover = new dev.pgcluster.operator.api.v1alpha1.SwitchoverSpec();
    cluster.getSpec().switchover.target = "pg-1";
    cluster.getSpec().switchover.id = "s1";
    ClusterState state = state(true, List.of(), instance(0, "primary", PRIMARY), instance(1, "replica", STANDBY),
        instance(2, "replica", STANDBY));
    assertTrue(decide(cluster, state).stream().anyMatch(a -> a instanceof Action.Switchover));
    assertTrue(decide(cluster, state.withFencedByUser(java.util.Set.of("pg-1"))).stream()
        .noneMatch(a -> a instanceof Action.Switchover));
    assertTrue(decide(cluster, state.withFencedByUser(java.util.Set.of("pg-0"))).stream()
        .noneMatch(a -> a instanceof Action.Switchover));
  }

  private static List<Action> decide(PgCluster cluster, ClusterState state) {
    return Decider.decide(cluster.getSpec(), PgClusterNames.of(cluster), state);
  }

  private static final dev.pgcluster.operator.ha.GrantWatch.Grant SILENT =
      new dev.pgcluster.operator.ha.GrantWatch.Grant(true, java.time.Duration.ofSeconds(6), java.time.Duration.ZERO,
          false);

  private static ClusterState state(boolean initialized, List<SlotInfo> slots, InstanceState... instances) {
    return new ClusterState(new PrimaryRecord("pg-0", 0, initialized, "1"), List.of(instances), slots, List.of());
  }

  private static InstanceState instance(int ordinal, String roleLabel, InstanceFacts facts) {
    return new InstanceState("pg-" + ordinal, ordinal, facts != null, "127.0.1." + (ordinal + 1), roleLabel, facts,
        facts == null ? "connection refused" : null);
  }
}
