package dev.pgcluster.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonProperty;

/** Role of an instance; also the value of the pod's role label that the Services select on. */
public enum InstanceRole {
  @JsonProperty("primary")
  PRIMARY("primary"),
  @JsonProperty("replica")
  REPLICA("replica"),
  /** A standby with recovery_min_apply_delay: not behind -ro, never promoted. */
  @JsonProperty("delayed-replica")
  DELAYED_REPLICA("delayed-replica"),
  /**
   * Only a pod label, never a status role: a standby the user fenced (annotation
   * pgcluster.dev/fenced-instances) carries it, so that -ro does not select it (-r, every instance, still does).
   */
  @JsonProperty("fenced")
  FENCED("fenced"),
  /** A value this operator does not know (see fromValue); never written by it. */
  @com.fasterxml.jackson.annotation.JsonIgnore
  UNKNOWN("unknown");

  private final String label;

  InstanceRole(String label) {
    this.label = label;
  }

  public String label() {
    return label;
  }

  /** Any other value reads as UNKNOWN (see WireValues). */
  @com.fasterxml.jackson.annotation.JsonCreator
  public static InstanceRole fromValue(String value) {
    return WireValues.read(values(), UNKNOWN, InstanceRole::label, value);
  }
}
