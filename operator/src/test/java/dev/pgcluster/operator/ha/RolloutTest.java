package dev.pgcluster.operator.ha;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgcluster.operator.api.v1alpha1.DelayedReplicasSpec;
import dev.pgcluster.operator.api.v1alpha1.PgClusterSpec;
import dev.pgcluster.operator.ha.ConfigFacts.PendingSetting;
import dev.pgcluster.operator.render.TestClusters;
import java.util.List;
import org.junit.jupiter.api.Test;

/** One row per test: the instances' configuration as observed, and the rollout's next step. */
class RolloutTest {
  private static final String NEW = "new";
  private static final String OLD = "old";
  private static final InstanceFacts PRIMARY = new InstanceFacts(false, 1, "0/3000000", null, null);
  private static final InstanceFacts STANDBY = new InstanceFacts(true, 1, "0/3000000", "0/3000000", 0.0);
  private static final List<PendingSetting> SHARED_BUFFERS = List.of(new PendingSetting("shared_buffers", "128MB", "256MB"));

  @Test
  void waitsForTheKubeletToRefreshTheFileBeforeReloading() {
    ClusterState state = state(3, config(OLD, OLD), config(OLD, OLD), config(OLD, OLD));
    assertEquals(List.of(), decide(3, state));
    Rollout.Progress progress = Rollout.progress(spec(3), NEW, state);
    assertEquals(List.of("pg-0", "pg-1", "pg-2"), progress.waitingForFile());
    assertFalse(progress.converged());
  }

  @Test
  void reloadsEveryInstanceWhoseFileHoldsTheNewConfiguration() {
    ClusterState state = state(3, config(OLD, NEW), config(NEW, NEW), config(OLD, NEW));
    assertEquals(List.of(new Action.ReloadConfiguration("pg-0", "its configuration file holds configuration new,"
            + " it runs old"), new Action.ReloadConfiguration("pg-2", "its configuration file holds configuration new,"
            + " it runs old")), decide(3, state));
  }

  @Test
  void convergedWhenEveryInstanceRunsTheRenderedConfiguration() {
    ClusterState state = state(3, config(NEW, NEW), config(NEW, NEW), config(NEW, NEW));
    assertEquals(List.of(), decide(3, state));
    assertTrue(Rollout.progress(spec(3), NEW, state).converged());
  }

  @Test
  void restartsStandbysFirstHighestOrdinalFirstOneAtATime() {
    ClusterState state = state(3, pending(SHARED_BUFFERS), pending(SHARED_BUFFERS), pending(SHARED_BUFFERS));
    List<Action> actions = decide(3, state);
    assertEquals(1, actions.size());
    assertEquals("pg-2", ((Action.RestartForUpdate) actions.get(0)).pod());
    assertTrue(((Action.RestartForUpdate) actions.get(0)).reason().contains("shared_buffers 128MB -> 256MB"));
  }

  @Test
  void noRestartWhileAnInstanceIsNotReady() {
    ClusterState state = state(3, pending(SHARED_BUFFERS), pending(SHARED_BUFFERS), pending(List.of()));
    ClusterState restarting = withInstance(state, new InstanceState("pg-2", 2, false, "10.0.0.2", "replica", STANDBY,
        null, "uid-2", config(NEW, NEW)));
    assertEquals(List.of(), decide(3, restarting));
    assertEquals("not ready: pg-2", Rollout.progress(spec(3), NEW, restarting).blockedBy());
  }

  @Test
  void noRestartWhileTheHaDeciderActs() {
    ClusterState state = state(3, pending(SHARED_BUFFERS), pending(SHARED_BUFFERS), pending(SHARED_BUFFERS));
    assertEquals(List.of(), Rollout.decide(spec(3), NEW, state,
        List.of(new Action.CreateSlot("pgc_pg_2")), true));
    assertEquals(1, Rollout.decide(spec(3), NEW, state, List.of(), true).size());
    assertEquals(1, Rollout.decide(spec(3), NEW, state, List.of(new Action.SetLeaseDuration(8)), true).size(),
        "a new lease duration does not hold a restart back");
  }

  @Test
  void noRestartAnywhereWhileTheFileHasErrors() {
    ConfigFacts broken = new ConfigFacts(NEW, NEW, List.of(), List.of("pgcluster.conf:20: work_mem = 'lots': invalid"));
    ClusterState state = state(3, pending(SHARED_BUFFERS), pending(SHARED_BUFFERS), broken);
    assertEquals(List.of(), decide(3, state));
    Rollout.Progress progress = Rollout.progress(spec(3), NEW, state);
    assertEquals(List.of("pg-2: pgcluster.conf:20: work_mem = 'lots': invalid"), progress.errors());
    assertTrue(progress.blockedBy().contains("a restarted instance would not start"));
  }

  @Test
  void thePrimaryLastBySwitchoverToTheMostAdvancedStreamingStandby() {
    InstanceFacts behind = new InstanceFacts(true, 1, "0/2000000", "0/2000000", 0.0);
    ClusterState state = new ClusterState(record(), List.of(
        new InstanceState("pg-0", 0, true, "10.0.0.0", "primary", PRIMARY, null, "uid-0", pending(SHARED_BUFFERS)),
        new InstanceState("pg-1", 1, true, "10.0.0.1", "replica", behind, null, "uid-1", config(NEW, NEW)),
        new InstanceState("pg-2", 2, true, "10.0.0.2", "replica", STANDBY, null, "uid-2", config(NEW, NEW))),
        List.of(), streaming("pg-1", "pg-2"));
    assertEquals(List.of(new Action.Switchover("pg-0", "uid-0", "pg-2", null,
        "restart of primary pg-0 for shared_buffers 128MB -> 256MB")), decide(3, state));
    assertEquals(List.of(), Rollout.decide(spec(3), NEW, state, List.of(), false),
        "not again soon after a planned switchover gave up");
  }

  @Test
  void neverSwitchesOverToADelayedOrLaggingStandby() {
    PgClusterSpec spec = spec(3);
    spec.replication.delayedReplicas = new DelayedReplicasSpec();
    spec.replication.delayedReplicas.instances = 1;
    spec.replication.delayedReplicas.applyDelay = "1h";
    InstanceFacts lagging = new InstanceFacts(true, 1, "0/3000000", "0/2000000", 30.0);
    ClusterState state = new ClusterState(record(), List.of(
        new InstanceState("pg-0", 0, true, "10.0.0.0", "primary", PRIMARY, null, "uid-0", pending(SHARED_BUFFERS)),
        new InstanceState("pg-1", 1, true, "10.0.0.1", "replica", lagging, null, "uid-1", config(NEW, NEW)),
        new InstanceState("pg-2", 2, true, "10.0.0.2", "replica", STANDBY, null, "uid-2", config(NEW, NEW))),
        List.of(), streaming("pg-1", "pg-2"));
    assertEquals(List.of(), Rollout.decide(spec, NEW, state, List.of(), true),
        "pg-2 is delayed, pg-1 replays 30 s behind: wait rather than restart the primary in place");
  }

  @Test
  void aNewPodTemplateRollsLikeARestartOnlySetting() {
    ClusterState state = new ClusterState(record(), List.of(
        new InstanceState("pg-0", 0, true, "10.0.0.0", "primary", PRIMARY, null, "uid-0", config(NEW, NEW), true),
        new InstanceState("pg-1", 1, true, "10.0.0.1", "replica", STANDBY, null, "uid-1", config(NEW, NEW), true),
        new InstanceState("pg-2", 2, true, "10.0.0.2", "replica", STANDBY, null, "uid-2", config(NEW, NEW), false)),
        List.of(), streaming("pg-1", "pg-2"));
    assertEquals(List.of(new Action.RestartForUpdate("pg-1", "uid-1", "restarting pg-1 for the StatefulSet's new"
        + " pod template")), decide(3, state), "pg-2 already runs the new template");
    ClusterState standbysDone = withInstance(state, new InstanceState("pg-1", 1, true, "10.0.0.1", "replica", STANDBY,
        null, "uid-1b", config(NEW, NEW), false));
    assertEquals(List.of(new Action.Switchover("pg-0", "uid-0", "pg-1", null,
        "restart of primary pg-0 for the StatefulSet's new pod template")), decide(3, standbysDone),
        "equally advanced standbys: the lowest ordinal");
  }

  @Test
  void aSingleInstanceRestartsInPlace() {
    ClusterState state = state(1, pending(SHARED_BUFFERS));
    Action.RestartForUpdate restart = (Action.RestartForUpdate) decide(1, state).get(0);
    assertEquals("pg-0", restart.pod());
    assertTrue(restart.reason().contains("restarts in place"));
  }

  @Test
  void loweringASettingStandbysNeedAtLeastAsHighIsNotRolledOut() {
    List<PendingSetting> lower = List.of(new PendingSetting("max_connections", "200", "100"));
    ClusterState state = state(3, pending(lower), pending(lower), pending(lower));
    assertEquals(List.of(), decide(3, state));
    assertTrue(Rollout.progress(spec(3), NEW, state).blockedBy().startsWith("max_connections decreases"));
    List<PendingSetting> higher = List.of(new PendingSetting("max_connections", "100", "200"));
    assertEquals(1, decide(3, state(3, pending(higher), pending(higher), pending(higher))).size(),
        "raising it goes standbys first, as PostgreSQL requires");
  }

  private static List<Action> decide(int instances, ClusterState state) {
    return Rollout.decide(spec(instances), NEW, state, List.of(), true);
  }

  private static PgClusterSpec spec(int instances) {
    return TestClusters.cluster("pg", instances).getSpec();
  }

  private static ConfigFacts config(String loaded, String file) {
    return new ConfigFacts(loaded, file, List.of(), List.of());
  }

  private static ConfigFacts pending(List<PendingSetting> settings) {
    return new ConfigFacts(NEW, NEW, settings, List.of());
  }

  private static PrimaryRecord record() {
    return new PrimaryRecord("pg-0", 0, true, "1", null, null, null, null, null);
  }

  private static List<StandbyConnection> streaming(String... pods) {
    return java.util.Arrays.stream(pods).map(p -> new StandbyConnection(p, "streaming", "async", "0/3000000", 0L))
        .toList();
  }

  /** Instance 0 is the primary, the others stream from it. */
  private static ClusterState state(int instances, ConfigFacts... configs) {
    List<InstanceState> list = new java.util.ArrayList<>();
    List<String> standbys = new java.util.ArrayList<>();
    for (int i = 0; i < instances; i++) {
      list.add(new InstanceState("pg-" + i, i, true, "10.0.0." + i, i == 0 ? "primary" : "replica",
          i == 0 ? PRIMARY : STANDBY, null, "uid-" + i, configs[i]));
      if (i > 0) {
        standbys.add("pg-" + i);
      }
    }
    return new ClusterState(record(), list, List.of(), streaming(standbys.toArray(String[]::new)));
  }

  private static ClusterState withInstance(ClusterState state, InstanceState replacement) {
    List<InstanceState> list = state.instances().stream()
        .map(i -> i.name().equals(replacement.name()) ? replacement : i).toList();
    return new ClusterState(state.primary(), list, state.slots(), state.standbys());
  }
}
