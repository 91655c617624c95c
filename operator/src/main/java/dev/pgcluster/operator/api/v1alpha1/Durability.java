package dev.pgcluster.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonProperty;

/** What happens when fewer sync standbys than required are connected. */
public enum Durability {
  @JsonProperty("required")
  REQUIRED,
  @JsonProperty("preferred")
  PREFERRED,
  /** A value this operator does not know (see fromValue); never written by it. */
  @com.fasterxml.jackson.annotation.JsonIgnore
  UNKNOWN;

  /** The value as written in the resource and in postgresql.conf. */
  public String value() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }

  /** Any other value reads as UNKNOWN (see WireValues). */
  @com.fasterxml.jackson.annotation.JsonCreator
  public static Durability fromValue(String value) {
    return WireValues.read(values(), UNKNOWN, Durability::value, value);
  }
}
