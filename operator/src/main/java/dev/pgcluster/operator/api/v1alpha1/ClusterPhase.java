package dev.pgcluster.operator.api.v1alpha1;

/** Coarse summary of the cluster for printer columns; the conditions carry the details. */
public enum ClusterPhase {
  /** The spec is invalid; nothing is changed until it is fixed. */
  Invalid,
  /** Objects are being created, the first primary is bootstrapping and the first standbys are cloned. */
  Initializing,
  /** The primary is reachable and every instance is ready, or (a scale-up) still being created. */
  Healthy,
  /** The primary is reachable but some instances are not ready. */
  Degraded,
  /** No reachable primary. */
  Unavailable,
  /** A value this operator does not know (see fromValue); never written by it. */
  @com.fasterxml.jackson.annotation.JsonIgnore
  UNKNOWN;

  /** Any other value reads as UNKNOWN (see WireValues). */
  @com.fasterxml.jackson.annotation.JsonCreator
  public static ClusterPhase fromValue(String value) {
    return WireValues.read(values(), UNKNOWN, ClusterPhase::name, value);
  }
}
