package dev.pgcluster.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;

/** Per-instance persistent volume. Volumes may grow but never shrink. */
public class StorageSpec {

  /** Kubernetes quantity syntax, restricted to binary/decimal suffixes that make sense for disks. */
  public static final String QUANTITY_PATTERN = "^[0-9]+(\\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?$";

  @Required
  @Pattern(QUANTITY_PATTERN)
  @Size(max = 32)
  @ValidationRule(
      value = "quantity(self).compareTo(quantity(oldSelf)) >= 0",
      message = "the size may not shrink: a volume cannot be made smaller")
  @JsonPropertyDescription("Size of each instance's volume, e.g. 10Gi. May grow, never shrink.")
  public String size;

  @JsonPropertyDescription("StorageClass of the volumes; the cluster default when empty.")
  @ValidationRule(value = "self == oldSelf", message = "the storageClass is immutable")
  @Size(max = 253)
  public String storageClass;
}
