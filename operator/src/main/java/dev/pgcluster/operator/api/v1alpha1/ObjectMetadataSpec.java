package dev.pgcluster.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;
import java.util.Map;

/**
 * Labels and annotations the user adds to an object the operator renders. Keys the operator sets
 * itself are refused: the Services and the StatefulSet select on them.
 */
public class ObjectMetadataSpec {

  @Size(max = 64)
  @ValidationRule(value = "self.all(k, !k.startsWith('pgcluster.dev/') && !k.startsWith('app.kubernetes.io/'))",
      message = "labels under pgcluster.dev/ and app.kubernetes.io/ are the operator's")
  @JsonPropertyDescription("Labels added to the object (not under pgcluster.dev/ or app.kubernetes.io/).")
  public Map<String, String> labels;

  @Size(max = 64)
  @ValidationRule(value = "self.all(k, !k.startsWith('pgcluster.dev/'))",
      message = "annotations under pgcluster.dev/ are the operator's")
  @JsonPropertyDescription("Annotations added to the object (not under pgcluster.dev/).")
  public Map<String, String> annotations;
}
