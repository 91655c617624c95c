package dev.pgcluster.operator.observe;

import dev.pgcluster.operator.render.StatefulSetRenderer;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.Pod;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * Whether an instance pod is still starting: created less than {@link #GRACE} ago and not yet running
 * PostgreSQL (no address, the bootstrap init container not done, or the postgres container never
 * run). A primary that is starting has not failed: a cluster applied again over its kept volumes
 * and Lease starts every pod at once, and its primary must not be failed over while it boots. The
 * grace bounds the wait: a primary's pod stuck unstarted (its node lost) counts as failing after it.
 */
public final class PodStartup {
  public static final Duration GRACE = Duration.ofSeconds(60);

  private PodStartup() {}

  public static boolean starting(Pod pod, Instant now) {
    if (pod == null || pod.getMetadata().getDeletionTimestamp() != null
        || pod.getMetadata().getCreationTimestamp() == null) {
      return false;
    }
    Instant created = Instant.parse(pod.getMetadata().getCreationTimestamp());
    if (Duration.between(created, now).compareTo(GRACE) >= 0) {
      return false;
    }
    if (pod.getStatus() == null || pod.getStatus().getPodIP() == null) {
      return true;
    }
    boolean bootstrapped = statuses(pod.getStatus().getInitContainerStatuses()).stream()
        .anyMatch(s -> StatefulSetRenderer.BOOTSTRAP_CONTAINER.equals(s.getName()) && s.getState() != null
            && s.getState().getTerminated() != null && Integer.valueOf(0).equals(s.getState().getTerminated().getExitCode()));
    // Once PostgreSQL ran in this pod (running now, or restarted since), it is no longer starting.
    boolean ran = statuses(pod.getStatus().getContainerStatuses()).stream()
        .anyMatch(s -> StatefulSetRenderer.POSTGRES_CONTAINER.equals(s.getName())
            && ((s.getState() != null && s.getState().getRunning() != null)
                || (s.getRestartCount() != null && s.getRestartCount() > 0)
                || (s.getLastState() != null && s.getLastState().getTerminated() != null)));
    return !bootstrapped || !ran;
  }

  /**
   * Whether a pod is being created: younger than {@link #GRACE}, not being deleted, and its postgres
   * container has not failed (no restart, no earlier termination). Until it is first Ready it is a new
   * instance coming up (a clone, its first replay), not a failed one.
   */
  public static boolean creating(Pod pod, Instant now) {
    if (pod == null || pod.getMetadata().getDeletionTimestamp() != null
        || pod.getMetadata().getCreationTimestamp() == null) {
      return false;
    }
    if (Duration.between(Instant.parse(pod.getMetadata().getCreationTimestamp()), now).compareTo(GRACE) >= 0) {
      return false;
    }
    return statuses(pod.getStatus() == null ? null : pod.getStatus().getContainerStatuses()).stream()
        .filter(s -> StatefulSetRenderer.POSTGRES_CONTAINER.equals(s.getName()))
        .noneMatch(s -> (s.getRestartCount() != null && s.getRestartCount() > 0)
            || (s.getLastState() != null && s.getLastState().getTerminated() != null));
  }

  private static List<ContainerStatus> statuses(List<ContainerStatus> list) {
    return list == null ? List.of() : list;
  }
}
