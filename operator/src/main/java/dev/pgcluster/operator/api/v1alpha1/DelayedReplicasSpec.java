package dev.pgcluster.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;

/** The highest-ordinal instances become delayed standbys (recovery_min_apply_delay). */
public class DelayedReplicasSpec {

  @Required
  @Min(0)
  @JsonPropertyDescription("How many instances (the highest ordinals) are delayed standbys.")
  public Integer instances;

  @Required
  @Pattern("^[1-9][0-9]*(ms|s|min|h|d)$")
  @JsonPropertyDescription("recovery_min_apply_delay, e.g. 5min or 1h.")
  public String applyDelay;
}
