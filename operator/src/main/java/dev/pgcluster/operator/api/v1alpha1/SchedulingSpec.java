package dev.pgcluster.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.kubernetes.api.model.NodeAffinity;
import io.fabric8.kubernetes.api.model.Toleration;
import io.fabric8.kubernetes.api.model.TopologySpreadConstraint;
import java.util.List;
import java.util.Map;

/** Where the instances' pods may run. A change rolls out like any other pod template change. */
public class SchedulingSpec {

  @Default("preferred")
  @JsonPropertyDescription("Keep the cluster's instances in different topology domains (nodes by default):"
      + " preferred (spread when possible), required (an instance stays Pending rather than share one), none.")
  public PodAntiAffinityType podAntiAffinity = PodAntiAffinityType.PREFERRED;

  @Default("kubernetes.io/hostname")
  @Pattern("^[^\\s]+$")
  @JsonPropertyDescription("The node label whose values are the domains podAntiAffinity keeps instances apart in"
      + " (kubernetes.io/hostname: nodes; topology.kubernetes.io/zone: zones).")
  public String topologyKey = "kubernetes.io/hostname";

  @JsonPropertyDescription("Only nodes with all of these labels run instances.")
  public Map<String, String> nodeSelector;

  @JsonPropertyDescription("Node affinity of the instances' pods, as in a pod spec.")
  public NodeAffinity nodeAffinity;

  @JsonPropertyDescription("Taints the instances' pods tolerate, as in a pod spec.")
  @io.fabric8.generator.annotation.Size(max = 32)
  @io.fabric8.generator.annotation.ValidationRule(
      value = "self.all(t, (!has(t.operator) || t.operator in ['Exists', 'Equal'])"
          + " && (!has(t.effect) || t.effect in ['', 'NoSchedule', 'PreferNoSchedule', 'NoExecute'])"
          + " && (!has(t.operator) || t.operator != 'Exists' || !has(t.value) || t.value == ''))",
      message = "scheduling.tolerations: operator is Exists or Equal, effect NoSchedule, PreferNoSchedule or NoExecute,"
          + " and a toleration with operator Exists has no value")
  public List<Toleration> tolerations;

  @JsonPropertyDescription("Topology spread constraints, as in a pod spec; one without a labelSelector selects"
      + " this cluster's instances.")
  public List<TopologySpreadConstraint> topologySpreadConstraints;

  @JsonPropertyDescription("PriorityClass of the instances' pods.")
  public String priorityClassName;
}
