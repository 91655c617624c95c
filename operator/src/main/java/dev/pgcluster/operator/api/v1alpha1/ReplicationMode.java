package dev.pgcluster.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonProperty;

/** async: commits do not wait for standbys; sync: a quorum of standbys confirms each commit. */
public enum ReplicationMode {
  @JsonProperty("async")
  ASYNC,
  @JsonProperty("sync")
  SYNC,
  /** A value this operator does not know (see fromValue); never written by it. */
  @com.fasterxml.jackson.annotation.JsonIgnore
  UNKNOWN;

  /** The value as written in the resource and in postgresql.conf. */
  public String value() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }

  /** Any other value reads as UNKNOWN (see WireValues). */
  @com.fasterxml.jackson.annotation.JsonCreator
  public static ReplicationMode fromValue(String value) {
    return WireValues.read(values(), UNKNOWN, ReplicationMode::value, value);
  }
}
