package dev.pgcluster.sandbox.kubelet;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * ReadWriteOnce, as the attach/detach machinery enforces it: a claim's directory is used by at most one
 * running pod at a time, on any node. A pod whose claim is still held (its former pod's processes run
 * on, say on a partitioned node) waits with the message a real kubelet shows.
 */
public final class VolumeAttachments {
  private final Map<Path, String> holders = new ConcurrentHashMap<>();

  /** Takes the directory for pod {@code uid} ({@code podName} for messages), or says who holds it. */
  void attach(Path directory, String uid, String podName) throws PodVolumes.NotReady {
    String holder = holders.computeIfAbsent(directory, d -> uid + " " + podName);
    if (!holder.startsWith(uid + " ")) {
      throw new PodVolumes.NotReady("Multi-Attach error for volume \"" + directory.getFileName()
          + "\": Volume is already used by pod(s) " + holder.substring(holder.indexOf(' ') + 1));
    }
  }

  /** The pod's processes are gone: its claims are free. */
  void detachAll(String uid) {
    holders.values().removeIf(h -> h.startsWith(uid + " "));
  }
}
