package dev.pgcluster.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;

/** Health-probing and failover timings. */
public class FailoverSpec {

  @Default("true")
  @JsonPropertyDescription("Promote a standby automatically when the primary fails.")
  public Boolean enabled = true;

  @Default("1")
  @Min(1)
  @Max(60)
  @JsonPropertyDescription("Seconds between two health probes of each instance.")
  public Integer probePeriodSeconds = 1;

  @Default("3")
  @Min(1)
  @Max(60)
  @JsonPropertyDescription("Consecutive failed probes after which the primary is considered failed.")
  public Integer failureThreshold = 3;

  @Default("4")
  @Min(3)
  @Max(300)
  @JsonPropertyDescription("The primary's grant: its agent renews the primary Lease and fences it (read-only, sessions"
      + " ended) once it could not for this long minus a margin (a quarter, at least 1 s); the operator begins a"
      + " failover once it has seen no renewal for as long, and promotes no standby before the former primary's"
      + " grant has run out.")
  public Integer leaseDurationSeconds = 4;
}
