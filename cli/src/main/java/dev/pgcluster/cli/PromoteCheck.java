package dev.pgcluster.cli;

import dev.pgcluster.operator.api.v1alpha1.ClusterPhase;
import dev.pgcluster.operator.api.v1alpha1.Durability;
import dev.pgcluster.operator.api.v1alpha1.InstanceStatus;
import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.operator.api.v1alpha1.ReplicationMode;
import dev.pgcluster.operator.ha.Lsn;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Whether a forced promotion may be requested, and what it risks, from the cluster's status. Pure: a
 * person deciding to promote by hand at 3 a.m. reads this before anything changes.
 */
final class PromoteCheck {
  private PromoteCheck() {}

  /** The primary answers (phase Healthy or Degraded): a promotion would be a switchover. */
  static boolean primaryHealthy(PgCluster cluster) {
    var s = cluster.getStatus();
    return s != null && (s.phase == ClusterPhase.Healthy || s.phase == ClusterPhase.Degraded);
  }

  /** Why promoting {@code target} is refused; empty when it may be requested. */
  static Optional<String> refusal(PgCluster cluster, String target, boolean force) {
    String name = cluster.getMetadata().getName();
    var s = cluster.getStatus();
    if (s == null || s.currentPrimary == null || !Boolean.TRUE.equals(s.initialized)) {
      return Optional.of(name + " was never initialized: there is nothing to promote from");
    }
    String fenceProblem = dev.pgcluster.operator.observe.FencedInstances.parse(cluster).problem();
    if (fenceProblem != null) {
      return Optional.of(fenceProblem + ": the operator acts on nothing new until it reads (fix or remove it first)");
    }
    Optional<String> notPromotable = SwitchoverCheck.notAPromotableStandby(cluster, target);
    if (notPromotable.isPresent()) {
      return notPromotable;
    }
    InstanceStatus i = s.instances.stream().filter(x -> target.equals(x.name)).findFirst().orElseThrow();
    if (Boolean.TRUE.equals(i.fenced)) {
      return Optional.of(target + " is fenced: unfence it first (kubectl pgc unfence " + name + " " + target + ")");
    }
    boolean primaryFenced = s.instances.stream().anyMatch(p -> p.name.equals(s.currentPrimary)
        && Boolean.TRUE.equals(p.fenced));
    if (primaryFenced) {
      return Optional.of("primary " + s.currentPrimary + " is fenced, which holds every change of primary: unfence"
          + " it first (kubectl pgc unfence " + name + " " + s.currentPrimary + ")");
    }
    if (!Boolean.TRUE.equals(i.reachable)) {
      return Optional.of(target + " does not answer: the operator cannot promote it");
    }
    if (primaryHealthy(cluster) && !force) {
      return Optional.of("primary " + s.currentPrimary + " of " + name + " is healthy (" + s.phase + "): use kubectl"
          + " pgc switchover " + name + " --to " + target + ", or add --force (done as a switchover while the"
          + " primary answers: nothing is lost)");
    }
    return Optional.empty();
  }

  /** What promoting {@code target} now risks, one line each; empty when it risks nothing known. */
  static List<String> risks(PgCluster cluster, String target) {
    var s = cluster.getStatus();
    List<String> risks = new ArrayList<>();
    if (primaryHealthy(cluster)) {
      return risks;  // a switchover: the target replays everything first
    }
    InstanceStatus chosen = s.instances.stream().filter(i -> target.equals(i.name)).findFirst().orElseThrow();
    long mine = position(chosen);
    for (InstanceStatus other : s.instances) {
      if (other.name.equals(target) || other.name.equals(s.currentPrimary) || !Boolean.TRUE.equals(other.reachable)) {
        continue;
      }
      long theirs = position(other);
      if (theirs > mine) {
        risks.add(other.name + " received more WAL (" + lsn(other) + ") than " + target + " (" + lsn(chosen) + "): "
            + StatusView.bytes(theirs - mine) + " of changes only it has are lost, and it is re-cloned or rewound");
      }
    }
    var replication = cluster.getSpec().replication;
    if (replication.mode == ReplicationMode.SYNC && replication.durability == Durability.REQUIRED) {
      risks.add("durability is required, and the operator does not fail over on its own now: " + target
          + " may lack commits that clients were told are durable");
    } else {
      risks.add("replication is " + (replication.mode == ReplicationMode.SYNC ? "synchronous with durability "
          + replication.durability : "asynchronous") + ": commits " + target + " did not receive are lost");
    }
    risks.add("the former primary " + s.currentPrimary + " is fenced, then rewound to " + target + "'s history"
        + " when it returns; its status reports what that discarded");
    return risks;
  }

  private static long position(InstanceStatus i) {
    return Math.max(i.receivedLsn == null ? 0 : Lsn.parse(i.receivedLsn), i.replayedLsn == null ? 0
        : Lsn.parse(i.replayedLsn));
  }

  private static String lsn(InstanceStatus i) {
    return i.receivedLsn != null ? i.receivedLsn : i.replayedLsn;
  }
}
