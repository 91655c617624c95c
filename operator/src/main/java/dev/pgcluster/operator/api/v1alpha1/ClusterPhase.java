package dev.pgcluster.operator.api.v1alpha1;

/** Coarse summary of the cluster for printer columns; the conditions carry the details. */
public enum ClusterPhase {
  /** The spec is invalid; nothing is changed until it is fixed. */
  Invalid,
  /** Objects are being created and the first primary is bootstrapping. */
  Initializing,
  /** Every instance is ready and the primary is reachable. */
  Healthy,
  /** The primary is reachable but some instances are not ready. */
  Degraded,
  /** No reachable primary. */
  Unavailable;

  /**
   * Any other value reads as null instead of failing: a resource written against a newer CRD must not
   * stop the operator's informer (and with it every cluster); the validator reports it on the resource.
   */
  @com.fasterxml.jackson.annotation.JsonCreator
  public static ClusterPhase fromValue(String value) {
    for (ClusterPhase known : values()) {
      if (known.name().equals(value)) {
        return known;
      }
    }
    return null;
  }
}
