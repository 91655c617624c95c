package dev.pgcluster.operator.observe;

import io.fabric8.kubernetes.api.model.Pod;

/** Reads the kubelet's verdict on a pod. */
public final class PodReadiness {

  private PodReadiness() {}

  public static boolean isReady(Pod pod) {
    if (pod.getStatus() == null || pod.getStatus().getConditions() == null
        || pod.getMetadata().getDeletionTimestamp() != null) {
      return false;
    }
    return pod.getStatus().getConditions().stream()
        .anyMatch(c -> "Ready".equals(c.getType()) && "True".equals(c.getStatus()));
  }
}
