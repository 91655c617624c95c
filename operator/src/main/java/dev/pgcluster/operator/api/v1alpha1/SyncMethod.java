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

  /**
   * Any other value reads as UNKNOWN instead of failing: a resource written against a newer CRD must
   * not stop the operator's informer (and with it every cluster); the validator reports it on the
   * resource. Not null: a copy of the resource (JOSDK clones through JSON, leaving nulls out) would
   * take the field's default instead.
   */
  @com.fasterxml.jackson.annotation.JsonCreator
  public static SyncMethod fromValue(String value) {
    for (SyncMethod known : values()) {
      if (known != UNKNOWN && known.value().equals(value)) {
        return known;
      }
    }
    return UNKNOWN;
  }
}
