package dev.pgcluster.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonProperty;

/** How synchronous_standby_names picks the quorum: ANY n (...) or FIRST n (...). */
public enum SyncMethod {
  @JsonProperty("any")
  ANY,
  @JsonProperty("first")
  FIRST,
  /** A value this operator does not know (see fromValue); never written by it. */
  @com.fasterxml.jackson.annotation.JsonIgnore
  UNKNOWN;

  /** The value as written in the resource and in postgresql.conf. */
  public String value() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }

  /** Any other value reads as UNKNOWN (see WireValues). */
  @com.fasterxml.jackson.annotation.JsonCreator
  public static SyncMethod fromValue(String value) {
    return WireValues.read(values(), UNKNOWN, SyncMethod::value, value);
  }
}
