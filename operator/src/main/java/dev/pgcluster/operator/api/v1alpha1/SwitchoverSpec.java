package dev.pgcluster.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;

/**
 * A planned change of primary, declared in the resource so that it lives in Git: done once per
 * {@code id} (recorded on the primary Lease), so re-applying the same manifest does nothing.
 */
public class SwitchoverSpec {
  @Required
  @Pattern("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
  @JsonPropertyDescription("The pod to promote, e.g. pg-1: a non-delayed standby.")
  public String target;

  @Required
  @Size(min = 1, max = 63)
  @JsonPropertyDescription("Any new value requests a new switchover, e.g. a date or a ticket number.")
  public String id;

  @Default("false")
  @JsonPropertyDescription("A forced promotion, for when the primary has failed and the operator does not fail over on"
      + " its own (spec.failover.enabled false, too few synchronous standbys reachable under durability required) or"
      + " would choose another standby: the target is promoted even if it is behind, and commits it lacks are lost"
      + " (the former primary's rewind reports them). While the primary is healthy it changes nothing: a switchover"
      + " always waits for the target to replay everything.")
  public Boolean force = false;
}
