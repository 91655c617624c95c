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

  /**
   * Any other value reads as UNKNOWN instead of failing: a resource written against a newer CRD must
   * not stop the operator's informer (and with it every cluster); the validator reports it on the
   * resource. Not null: a copy of the resource (JOSDK clones through JSON, leaving nulls out) would
   * take the field's default instead.
   */
  @com.fasterxml.jackson.annotation.JsonCreator
  public static InstanceRole fromValue(String value) {
    for (InstanceRole known : values()) {
      if (known != UNKNOWN && known.label().equals(value)) {
        return known;
      }
    }
    return UNKNOWN;
  }
}
