package dev.pgcluster.operator.status;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.pgcluster.operator.api.v1alpha1.ClusterPhase;
import dev.pgcluster.operator.api.v1alpha1.InstanceRole;
import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.operator.api.v1alpha1.PgClusterStatus;
import dev.pgcluster.operator.ha.ClusterState;
import dev.pgcluster.operator.ha.InstanceFacts;
import dev.pgcluster.operator.ha.InstanceState;
import dev.pgcluster.operator.ha.PrimaryRecord;
import dev.pgcluster.operator.ha.SlotInfo;
import dev.pgcluster.operator.ha.StandbyConnection;
import dev.pgcluster.operator.render.TestClusters;
import io.fabric8.kubernetes.api.model.Condition;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class StatusAssemblerTest {
  private static final Instant T0 = Instant.parse("2026-11-24T10:00:00Z");
  private static final Instant T1 = Instant.parse("2026-11-24T10:05:00Z");
  private static final InstanceFacts PRIMARY = new InstanceFacts(false, 1, "0/3000000", null, null);
  private static final InstanceFacts STANDBY = new InstanceFacts(true, 1, "0/3000000", "0/2000000", 1.5);

  @Test
  void healthyWhenEveryInstanceIsReadyWithPerInstanceDetails() {
    PgCluster cluster = TestClusters.cluster("pg", 2);
    PgClusterStatus status = StatusAssembler.observed(cluster, healthy(), T0);
    assertEquals(ClusterPhase.Healthy, status.phase);
    assertEquals("True", condition(status, "Ready").getStatus());
    assertEquals("AllInstancesReady", condition(status, "Ready").getReason());
    assertEquals(1L, condition(status, "Ready").getObservedGeneration());
    assertEquals(2, status.readyInstances);
    assertEquals("pg-0", status.currentPrimary);
    var standby = status.instances.get(1);
    assertEquals(InstanceRole.REPLICA, standby.role);
    assertEquals("quorum", standby.syncState);
    assertEquals(16777216L, standby.lagBytes);
    assertEquals(1.5, standby.lagSeconds);
    assertEquals("0/2000000", standby.replayedLsn);
  }

  @Test
  void fencedInstancesAreDegradedWithTheirNamesAndFlagged() {
    PgCluster cluster = TestClusters.cluster("pg", 2);
    PgClusterStatus status = StatusAssembler.observed(cluster, healthy().withFencedByUser(java.util.Set.of("pg-0",
        "pg-1")), T0);
    assertEquals(ClusterPhase.Degraded, status.phase);
    assertEquals("InstancesFenced", condition(status, "Degraded").getReason());
    assertEquals("fenced (pgcluster.dev/fenced-instances): pg-0 (the primary: it takes no writes), pg-1; never"
        + " promoted, standbys out of -ro", condition(status, "Degraded").getMessage());
    assertEquals(Boolean.TRUE, status.instances.get(1).fenced);
    assertEquals(InstanceRole.REPLICA, status.instances.get(1).role, "the status keeps the role; only the label says fenced");
    assertEquals(null, StatusAssembler.observed(cluster, healthy(), T0).instances.get(1).fenced);
  }

  @Test
  void growingVolumesAreProgressingAndARefusalIsDegradedWithTheApiServersMessage() {
    PgCluster cluster = TestClusters.cluster("pg", 2);
    cluster.getSpec().storage.size = "2Gi";
    var claims = List.of(new dev.pgcluster.operator.storage.VolumeGrowth.Claim("pg-0", "pgdata-pg-0", "2Gi", "1Gi"),
        new dev.pgcluster.operator.storage.VolumeGrowth.Claim("pg-1", "pgdata-pg-1", "2Gi", "2Gi"));
    PgClusterStatus growing = StatusAssembler.observed(cluster, healthy(),
        dev.pgcluster.operator.storage.VolumeGrowth.plan("2Gi", claims, null), T0);
    assertEquals(ClusterPhase.Healthy, growing.phase, "growing is no degradation");
    assertEquals("ResizingVolumes", condition(growing, "Progressing").getReason());
    assertEquals("growing the data volumes to 2Gi: pgdata-pg-0 (1Gi)", condition(growing, "Progressing").getMessage());
    assertEquals("1Gi", growing.instances.get(0).volumeSize);
    assertEquals("2Gi", growing.instances.get(1).volumeSize);

    PgClusterStatus refused = StatusAssembler.observed(cluster, healthy(),
        dev.pgcluster.operator.storage.VolumeGrowth.plan("2Gi", claims, "pgdata-pg-0 (1Gi -> 2Gi, storage.size): forbidden"), T0);
    assertEquals(ClusterPhase.Degraded, refused.phase);
    assertEquals("VolumeResizeFailed", condition(refused, "Degraded").getReason());
    assertEquals("the API server refused to grow pgdata-pg-0 (1Gi -> 2Gi, storage.size): forbidden",
        condition(refused, "Degraded").getMessage());
  }

  @Test
  void initializingUntilTheFirstPrimaryRuns() {
    PgCluster cluster = TestClusters.cluster("pg", 2);
    ClusterState state = new ClusterState(new PrimaryRecord("pg-0", 0, false, "1"), List.of(), List.of(), List.of());
    PgClusterStatus status = StatusAssembler.observed(cluster, state, T0);
    assertEquals(ClusterPhase.Initializing, status.phase);
    assertEquals("Bootstrapping", condition(status, "Progressing").getReason());
  }

  @Test
  void unavailableWhenTheInitializedPrimaryIsDown() {
    PgCluster cluster = TestClusters.cluster("pg", 2);
    ClusterState state = new ClusterState(new PrimaryRecord("pg-0", 0, true, "1"),
        List.of(new InstanceState("pg-0", 0, false, "127.0.1.1", "primary", null, "refused"),
            new InstanceState("pg-1", 1, true, "127.0.1.2", "replica", STANDBY, null)), List.of(), List.of());
    PgClusterStatus status = StatusAssembler.observed(cluster, state, T0);
    assertEquals(ClusterPhase.Unavailable, status.phase);
    assertEquals("PrimaryUnavailable", condition(status, "Ready").getReason());
    assertEquals("True", condition(status, "Degraded").getStatus());
  }

  @Test
  void anInstanceTheSchedulerCannotPlaceSaysWhy() {
    PgCluster cluster = TestClusters.cluster("pg", 3);
    ClusterState h = healthy();
    List<InstanceState> instances = new java.util.ArrayList<>(h.instances());
    instances.add(new InstanceState("pg-2", 2, false, null, null, null, InstanceState.UNSCHEDULABLE
        + "0/4 nodes are available: 3 node(s) didn't match pod anti-affinity rules."));
    PgClusterStatus status = StatusAssembler.observed(cluster,
        new ClusterState(h.primary(), instances, h.slots(), h.standbys()), T0);
    assertEquals(ClusterPhase.Degraded, status.phase);
    assertEquals("not ready: pg-2 (unschedulable: 0/4 nodes are available: 3 node(s) didn't match pod anti-affinity"
        + " rules.)", condition(status, "Degraded").getMessage());
  }

  /** A new cluster's standbys being cloned are being created, not a degradation: no Warning at bootstrap. */
  @Test
  void standbysBeingCreatedAreNotADegradationButAStandbyStartingAgainIs() {
    PgCluster cluster = TestClusters.cluster("pg", 3);
    InstanceState primary = new InstanceState("pg-0", 0, true, "127.0.1.1", "primary", PRIMARY, null);
    InstanceState cloning = new InstanceState("pg-1", 1, false, "127.0.1.2", "replica", null, "refused", "uid-1", null,
        false, null, true);
    ClusterState bootstrapping = new ClusterState(new PrimaryRecord("pg-0", 0, true, "1"), List.of(primary, cloning),
        List.of(), List.of());  // pg-2 has no pod yet
    cluster.setStatus(null);
    PgClusterStatus status = StatusAssembler.observed(cluster, bootstrapping, T0);
    assertEquals(ClusterPhase.Initializing, status.phase);
    assertEquals("False", condition(status, "Degraded").getStatus());
    assertEquals("CreatingInstances", condition(status, "Degraded").getReason());
    assertEquals("creating pg-1, pg-2", condition(status, "Degraded").getMessage());
    assertEquals("False", condition(status, "Ready").getStatus());

    // Once the cluster was up, a known standby starting again (its pod recreated) is a degradation.
    cluster.setStatus(StatusAssembler.observed(TestClusters.cluster("pg", 3), new ClusterState(
        new PrimaryRecord("pg-0", 0, true, "1"), List.of(primary,
            new InstanceState("pg-1", 1, true, "127.0.1.2", "replica", STANDBY, null),
            new InstanceState("pg-2", 2, true, "127.0.1.3", "replica", STANDBY, null)), List.of(), List.of()), T0));
    cluster.getStatus().phase = ClusterPhase.Healthy;
    PgClusterStatus again = StatusAssembler.observed(cluster, bootstrapping, T1);
    assertEquals(ClusterPhase.Degraded, again.phase);
    assertEquals("InstancesNotReady", condition(again, "Degraded").getReason());

    // A scale-up: the new instance is being created, the cluster stays Healthy.
    PgCluster four = TestClusters.cluster("pg", 4);
    four.setStatus(cluster.getStatus());
    ClusterState scaling = new ClusterState(new PrimaryRecord("pg-0", 0, true, "1"), List.of(primary,
        new InstanceState("pg-1", 1, true, "127.0.1.2", "replica", STANDBY, null),
        new InstanceState("pg-2", 2, true, "127.0.1.3", "replica", STANDBY, null),
        new InstanceState("pg-3", 3, false, null, null, null, "pod has no IP yet", "uid-3", null, false, null, true)),
        List.of(), List.of());
    PgClusterStatus scaled = StatusAssembler.observed(four, scaling, T1);
    assertEquals(ClusterPhase.Healthy, scaled.phase);
    assertEquals("creating pg-3", condition(scaled, "Degraded").getMessage());
    assertEquals("Scaling", condition(scaled, "Progressing").getReason());
    assertEquals(List.of("pg-3"), scaled.creatingInstances);
    // The next look: pg-3 is listed in the last status, as being created; it still is.
    four.setStatus(scaled);
    PgClusterStatus next = StatusAssembler.observed(four, scaling, T1.plusSeconds(2));
    assertEquals(ClusterPhase.Healthy, next.phase);
    assertEquals(List.of("pg-3"), next.creatingInstances);
    four.setStatus(cluster.getStatus());

    // Young and not placed yet (its volume claim not bound yet, or no node fits): still being created, and
    // the scheduler's word is in both conditions.
    ClusterState unplaced = new ClusterState(new PrimaryRecord("pg-0", 0, true, "1"), List.of(primary,
        new InstanceState("pg-1", 1, true, "127.0.1.2", "replica", STANDBY, null),
        new InstanceState("pg-2", 2, true, "127.0.1.3", "replica", STANDBY, null),
        new InstanceState("pg-3", 3, false, null, null, null, InstanceState.UNSCHEDULABLE + "no node fits", "uid-3",
            null, false, null, true)), List.of(), List.of());
    PgClusterStatus waiting = StatusAssembler.observed(four, unplaced, T1);
    assertEquals("creating pg-3 (unschedulable: no node fits)", condition(waiting, "Degraded").getMessage());
    assertEquals("3 of 4 instances ready; not ready: pg-3 (unschedulable: no node fits)",
        condition(waiting, "Ready").getMessage());
  }

  /** A scale-down under way: the pods past the wanted count are leaving; no empty "not ready:" list. */
  @Test
  void podsLeavingInAScaleDownAreNoDegradation() {
    PgCluster cluster = TestClusters.cluster("pg", 2);
    ClusterState h = healthy();
    List<InstanceState> instances = new java.util.ArrayList<>(h.instances());
    instances.add(new InstanceState("pg-2", 2, false, "127.0.1.3", "replica", null, "refused"));
    PgClusterStatus status = StatusAssembler.observed(cluster,
        new ClusterState(h.primary(), instances, h.slots(), h.standbys()), T0);
    assertEquals(ClusterPhase.Healthy, status.phase);
    assertEquals("False", condition(status, "Degraded").getStatus());
    assertEquals("Scaling", condition(status, "Progressing").getReason());
  }

  @Test
  void lostSlotMakesTheClusterDegraded() {
    PgCluster cluster = TestClusters.cluster("pg", 2);
    ClusterState h = healthy();
    ClusterState state = new ClusterState(h.primary(), h.instances(), List.of(new SlotInfo("pgc_pg_1", false, "lost")),
        h.standbys());
    PgClusterStatus status = StatusAssembler.observed(cluster, state, T0);
    assertEquals(ClusterPhase.Degraded, status.phase);
    assertEquals("ReplicationSlotLost", condition(status, "Degraded").getReason());
  }

  @Test
  void keepsTransitionTimeWhileAConditionKeepsItsStatus() {
    PgCluster cluster = TestClusters.cluster("pg", 2);
    cluster.setStatus(StatusAssembler.observed(cluster, healthy(), T0));
    PgClusterStatus later = StatusAssembler.observed(cluster, healthy(), T1);
    assertEquals(T0.toString(), condition(later, "Ready").getLastTransitionTime());
    cluster.setStatus(later);
    PgClusterStatus invalid = StatusAssembler.invalid(cluster, List.of("bad"), T1);
    assertEquals(T1.toString(), condition(invalid, "Ready").getLastTransitionTime());
    assertEquals("InvalidSpec", condition(invalid, "Ready").getReason());
  }

  @Test
  void aRolloutShowsWhatWaitsForARestartAndAConfigurationErrorDegrades() {
    PgCluster cluster = TestClusters.cluster("pg", 2);
    String hash = dev.pgcluster.operator.render.PostgresConfig.configHash(cluster);
    var pending = new dev.pgcluster.operator.ha.ConfigFacts(hash, hash,
        List.of(new dev.pgcluster.operator.ha.ConfigFacts.PendingSetting("shared_buffers", "128MB", "256MB")),
        List.of());
    var done = new dev.pgcluster.operator.ha.ConfigFacts(hash, hash, List.of(), List.of());
    ClusterState rolling = new ClusterState(new PrimaryRecord("pg-0", 0, true, "1"),
        List.of(new InstanceState("pg-0", 0, true, "127.0.1.1", "primary", PRIMARY, null, "u0", pending, false),
            new InstanceState("pg-1", 1, true, "127.0.1.2", "replica", STANDBY, null, "u1", done, true)),
        List.of(), List.of(new StandbyConnection("pg-1", "streaming", "quorum", "0/2000000", 0L)));
    PgClusterStatus status = StatusAssembler.observed(cluster, rolling, T0);
    assertEquals(List.of("shared_buffers 128MB -> 256MB"), status.instances.get(0).pendingRestart);
    assertEquals(List.of("pod template"), status.instances.get(1).pendingRestart);
    assertEquals("RollingOut", condition(status, "Progressing").getReason());
    assertEquals(ClusterPhase.Healthy, status.phase, "a rollout alone does not degrade the cluster");

    var broken = new dev.pgcluster.operator.ha.ConfigFacts(hash, hash, List.of(),
        List.of("postgresql.conf:16: work_mem = 'plenty': setting could not be applied"));
    ClusterState rejected = new ClusterState(new PrimaryRecord("pg-0", 0, true, "1"),
        List.of(new InstanceState("pg-0", 0, true, "127.0.1.1", "primary", PRIMARY, null, "u0", broken, false),
            new InstanceState("pg-1", 1, true, "127.0.1.2", "replica", STANDBY, null, "u1", done, false)),
        List.of(), List.of(new StandbyConnection("pg-1", "streaming", "quorum", "0/2000000", 0L)));
    PgClusterStatus degraded = StatusAssembler.observed(cluster, rejected, T0);
    assertEquals(ClusterPhase.Degraded, degraded.phase);
    assertEquals("InvalidConfiguration", condition(degraded, "Degraded").getReason());
    assertEquals(true, condition(degraded, "Degraded").getMessage().contains("pg-0: postgresql.conf:16: work_mem"));
  }

  private static ClusterState healthy() {
    return new ClusterState(new PrimaryRecord("pg-0", 0, true, "1"),
        List.of(new InstanceState("pg-0", 0, true, "127.0.1.1", "primary", PRIMARY, null),
            new InstanceState("pg-1", 1, true, "127.0.1.2", "replica", STANDBY, null)),
        List.of(new SlotInfo("pgc_pg_1", true, "reserved")),
        List.of(new StandbyConnection("pg-1", "streaming", "quorum", "0/2000000", 16777216L)));
  }

  private static Condition condition(PgClusterStatus status, String type) {
    return status.conditions.stream().filter(c -> c.getType().equals(type)).findFirst().orElseThrow();
  }
}
