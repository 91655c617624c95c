package dev.pgcluster.operator.observe;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.operator.api.v1alpha1.PgClusterStatus;
import dev.pgcluster.operator.ha.FailoverPolicy;
import dev.pgcluster.operator.naming.PgClusterNames;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * The instances a user fenced: the PgCluster's annotation {@code pgcluster.dev/fenced-instances}, a JSON
 * list of pod names ({@code ["pg-1"]}), {@code ["*"]} for all of them. An annotation, not a spec field,
 * as in CloudNativePG: fencing is an intervention of the moment, not a state kept in Git. A name of a
 * pod that does not exist (yet) is kept: that instance is fenced from its start.
 */
public final class FencedInstances {
  public static final String ANNOTATION = FailoverPolicy.FENCE_ANNOTATION;
  public static final String ALL = "*";

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern POD_NAME = Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?");

  private FencedInstances() {}

  /** The fenced pods, or why the annotation cannot be read ({@code pods} is then empty). */
  public record Parsed(Set<String> pods, String problem) {}

  public static Parsed parse(PgCluster cluster) {
    Map<String, String> annotations = cluster.getMetadata().getAnnotations();
    String value = annotations == null ? null : annotations.get(ANNOTATION);
    if (value == null || value.isBlank()) {
      return new Parsed(Set.of(), null);
    }
    String problem = "metadata.annotations[" + ANNOTATION + "]: expected a JSON list of pod names such as"
        + " [\"" + PgClusterNames.of(cluster).pod(1) + "\"] or [\"*\"], got " + value;
    JsonNode list;
    try {
      list = JSON.readTree(value);
    } catch (JsonProcessingException e) {
      return new Parsed(Set.of(), problem);
    }
    if (list == null || !list.isArray()) {
      return new Parsed(Set.of(), problem);
    }
    Set<String> pods = new TreeSet<>();
    for (JsonNode item : list) {
      if (!item.isTextual() || !(ALL.equals(item.asText()) || POD_NAME.matcher(item.asText()).matches())) {
        return new Parsed(Set.of(), problem);
      }
      if (ALL.equals(item.asText())) {
        PgClusterNames names = PgClusterNames.of(cluster);
        for (int ordinal = 0; ordinal < cluster.getSpec().instances; ordinal++) {
          pods.add(names.pod(ordinal));
        }
      } else {
        pods.add(item.asText());
      }
    }
    return new Parsed(pods, null);
  }

  /**
   * The fence to act on: the annotation's, or while it cannot be read the one the status last reported
   * (an unreadable edit neither fences nor unfences anything).
   */
  public static Set<String> effective(PgCluster cluster) {
    Parsed parsed = parse(cluster);
    if (parsed.problem() == null) {
      return parsed.pods();
    }
    PgClusterStatus status = cluster.getStatus();
    Set<String> last = new TreeSet<>();
    if (status != null && status.instances != null) {
      status.instances.stream().filter(i -> Boolean.TRUE.equals(i.fenced)).forEach(i -> last.add(i.name));
    }
    return last;
  }
}
