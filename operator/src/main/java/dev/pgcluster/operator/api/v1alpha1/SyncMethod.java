package dev.pgcluster.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonProperty;

/** How synchronous_standby_names picks the quorum: ANY n (...) or FIRST n (...). */
public enum SyncMethod {
  @JsonProperty("any")
  ANY,
  @JsonProperty("first")
  FIRST;

  /** The value as written in the resource and in postgresql.conf. */
  public String value() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }
}
