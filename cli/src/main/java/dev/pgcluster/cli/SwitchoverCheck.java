package dev.pgcluster.cli;

import dev.pgcluster.operator.api.v1alpha1.ClusterPhase;
import dev.pgcluster.operator.api.v1alpha1.InstanceRole;
import dev.pgcluster.operator.api.v1alpha1.InstanceStatus;
import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import java.util.Optional;

/**
 * Whether a switchover to a pod may be requested, from the cluster's status: the operator would refuse
 * or abort the others, and a person at 3 a.m. should hear why before anything changes. Pure.
 */
final class SwitchoverCheck {
  private SwitchoverCheck() {}

  /**
   * Why {@code target} is no standby that may become primary at all (not an instance, the primary
   * already, a delayed standby); shared by switchover and promote. Needs a status with a primary.
   */
  static Optional<String> notAPromotableStandby(PgCluster cluster, String target) {
    String name = cluster.getMetadata().getName();
    var s = cluster.getStatus();
    Optional<InstanceStatus> instance = s.instances.stream().filter(i -> target.equals(i.name)).findFirst();
    if (instance.isEmpty()) {
      return Optional.of(target + " is not an instance of " + name + " (its instances: "
          + String.join(", ", s.instances.stream().map(i -> i.name).toList()) + ")");
    }
    if (target.equals(s.currentPrimary)) {
      return Optional.of(target + " is already the primary of " + name);
    }
    if (instance.get().role == InstanceRole.DELAYED_REPLICA) {
      return Optional.of(target + " is a delayed standby: it is behind on purpose and is never promoted");
    }
    return Optional.empty();
  }

  /** Why a switchover of {@code cluster} to {@code target} is refused; empty when it may be requested. */
  static Optional<String> refusal(PgCluster cluster, String target, long maxLagBytes) {
    String name = cluster.getMetadata().getName();
    var s = cluster.getStatus();
    if (s == null || s.currentPrimary == null) {
      return Optional.of(name + " has no primary yet: nothing to switch over from");
    }
    if (s.phase != ClusterPhase.Healthy && s.phase != ClusterPhase.Degraded) {
      return Optional.of(name + " is " + s.phase + ": a switchover needs a healthy primary (a failover is the"
          + " operator's to make)");
    }
    Optional<String> notPromotable = notAPromotableStandby(cluster, target);
    if (notPromotable.isPresent()) {
      return notPromotable;
    }
    InstanceStatus i = s.instances.stream().filter(x -> target.equals(x.name)).findFirst().orElseThrow();
    if (!Boolean.TRUE.equals(i.ready)) {
      return Optional.of(target + " is not ready: it cannot take over");
    }
    if (i.lagBytes == null) {
      return Optional.of(target + "'s lag is not known yet (it is not streaming, or the operator has not observed it):"
          + " try again in a few seconds");
    }
    if (i.lagBytes > maxLagBytes) {
      return Optional.of(target + " is " + StatusView.bytes(i.lagBytes) + " behind the primary (more than "
          + StatusView.bytes(maxLagBytes) + "): the switchover would wait for it and likely be aborted; try again"
          + " when it has caught up, or raise --max-lag-bytes");
    }
    return Optional.empty();
  }
}
