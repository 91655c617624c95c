package dev.pgcluster.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonProperty;

/** pglogical.conflict_resolution: how an arriving change to a row changed locally too is settled. */
public enum ConflictResolution {
  @JsonProperty("apply_remote")
  APPLY_REMOTE,
  @JsonProperty("keep_local")
  KEEP_LOCAL,
  @JsonProperty("last_update_wins")
  LAST_UPDATE_WINS,
  @JsonProperty("first_update_wins")
  FIRST_UPDATE_WINS,
  @JsonProperty("error")
  ERROR,
  /** A value this operator does not know (see fromValue); never written by it. */
  @com.fasterxml.jackson.annotation.JsonIgnore
  UNKNOWN;

  /** The value as written in the resource and in postgresql.conf. */
  public String value() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }

  /** The two that compare commit times: they need track_commit_timestamp. */
  public boolean needsCommitTimestamps() {
    return this == LAST_UPDATE_WINS || this == FIRST_UPDATE_WINS;
  }

  /** Any other value reads as UNKNOWN (see WireValues). */
  @com.fasterxml.jackson.annotation.JsonCreator
  public static ConflictResolution fromValue(String value) {
    return WireValues.read(values(), UNKNOWN, ConflictResolution::value, value);
  }
}
