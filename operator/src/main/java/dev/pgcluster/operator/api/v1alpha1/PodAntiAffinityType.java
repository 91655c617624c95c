package dev.pgcluster.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * How strongly a cluster's instances keep apart across the topology key: preferred (the scheduler
 * spreads them when it can), required (an instance stays Pending rather than share a domain with
 * another), none.
 */
public enum PodAntiAffinityType {
  @JsonProperty("preferred")
  PREFERRED,
  @JsonProperty("required")
  REQUIRED,
  @JsonProperty("none")
  NONE,
  /** A value this operator does not know (see fromValue); never written by it. */
  @com.fasterxml.jackson.annotation.JsonIgnore
  UNKNOWN;

  public String value() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }

  /** Any other value reads as UNKNOWN (see WireValues). */
  @com.fasterxml.jackson.annotation.JsonCreator
  public static PodAntiAffinityType fromValue(String value) {
    return WireValues.read(values(), UNKNOWN, PodAntiAffinityType::value, value);
  }
}
