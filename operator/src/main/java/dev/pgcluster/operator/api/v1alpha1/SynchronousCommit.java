package dev.pgcluster.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonProperty;

/** synchronous_commit level used in sync mode. */
public enum SynchronousCommit {
  @JsonProperty("on")
  ON,
  @JsonProperty("remote_write")
  REMOTE_WRITE,
  @JsonProperty("remote_apply")
  REMOTE_APPLY,
  /** A value this operator does not know (see fromValue); never written by it. */
  @com.fasterxml.jackson.annotation.JsonIgnore
  UNKNOWN;

  /** The value as written in the resource and in postgresql.conf. */
  public String value() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }

  /** Any other value reads as UNKNOWN (see WireValues). */
  @com.fasterxml.jackson.annotation.JsonCreator
  public static SynchronousCommit fromValue(String value) {
    return WireValues.read(values(), UNKNOWN, SynchronousCommit::value, value);
  }
}
