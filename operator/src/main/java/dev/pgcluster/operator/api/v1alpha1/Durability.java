package dev.pgcluster.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonProperty;

/** What happens when fewer sync standbys than required are connected. */
public enum Durability {
  @JsonProperty("required")
  REQUIRED,
  @JsonProperty("preferred")
  PREFERRED;

  /** The value as written in the resource and in postgresql.conf. */
  public String value() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }
}
