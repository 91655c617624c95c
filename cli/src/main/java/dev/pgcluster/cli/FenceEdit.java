package dev.pgcluster.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pgcluster.operator.api.v1alpha1.InstanceStatus;
import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.operator.observe.FencedInstances;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;

/**
 * The fence annotation's next value when pods are fenced or unfenced, and what fencing each means. Pure.
 * The annotation is the operator's interface ({@link FencedInstances}); this only edits it.
 */
final class FenceEdit {
  private static final ObjectMapper JSON = new ObjectMapper();

  private FenceEdit() {}

  /** Why {@code pods} cannot be fenced or unfenced in {@code cluster}; empty when they can. */
  static Optional<String> refusal(PgCluster cluster, List<String> pods) {
    var s = cluster.getStatus();
    if (s == null || s.instances == null || s.instances.isEmpty()) {
      return Optional.of(cluster.getMetadata().getName() + " has no instances yet");
    }
    List<String> names = s.instances.stream().map(i -> i.name).toList();
    for (String pod : pods) {
      if (!FencedInstances.ALL.equals(pod) && !names.contains(pod)) {
        return Optional.of(pod + " is not an instance of " + cluster.getMetadata().getName() + " (its instances: "
            + String.join(", ", names) + ")");
      }
    }
    String problem = FencedInstances.parse(cluster).problem();
    return problem == null ? Optional.empty() : Optional.of(problem + ": fix or remove the annotation first");
  }

  /**
   * The annotation's value with {@code pods} fenced ({@code fence}) or unfenced; null when nothing is
   * left fenced (the annotation is removed). Unfencing one pod out of ["*"] lists the others.
   */
  static String next(PgCluster cluster, List<String> pods, boolean fence) {
    TreeSet<String> fenced = new TreeSet<>(FencedInstances.parse(cluster).pods());
    if (fence) {
      if (pods.contains(FencedInstances.ALL)) {
        return "[\"*\"]";
      }
      fenced.addAll(pods);
    } else if (pods.contains(FencedInstances.ALL)) {
      fenced.clear();
    } else {
      fenced.removeAll(pods);
    }
    try {
      return fenced.isEmpty() ? null : JSON.writeValueAsString(new ArrayList<>(fenced));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  /** What fencing {@code pod} does, for the person who asked. */
  static String meaning(PgCluster cluster, String pod) {
    if (pod.equals(cluster.getStatus().currentPrimary)) {
      return pod + " is the primary: it takes no new write transactions (its client sessions are ended), stays"
          + " behind -rw for its standbys, and is not failed over while fenced";
    }
    return pod + " leaves -ro and the read-only pooler (label role=fenced; -r still has it) and is never promoted;"
        + " it keeps replicating";
  }

  /** Whether the status shows each of {@code pods} fenced ({@code fence}) or not. */
  static boolean shown(PgCluster cluster, List<String> pods, boolean fence) {
    var s = cluster.getStatus();
    if (s == null || s.instances == null) {
      return false;
    }
    for (InstanceStatus i : s.instances) {
      if ((pods.contains(FencedInstances.ALL) || pods.contains(i.name)) && Boolean.TRUE.equals(i.fenced) != fence) {
        return false;
      }
    }
    return true;
  }
}
