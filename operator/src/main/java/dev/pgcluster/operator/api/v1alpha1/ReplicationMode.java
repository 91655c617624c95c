package dev.pgcluster.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonProperty;

/** async: commits do not wait for standbys; sync: a quorum of standbys confirms each commit. */
public enum ReplicationMode {
  @JsonProperty("async")
  ASYNC,
  @JsonProperty("sync")
  SYNC;

  /** The value as written in the resource and in postgresql.conf. */
  public String value() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }
}
