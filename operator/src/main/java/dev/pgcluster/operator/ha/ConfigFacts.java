package dev.pgcluster.operator.ha;

import java.util.List;

/**
 * How far an instance has taken up the rendered configuration.
 *
 * @param loadedHash the {@code pgcluster.config_hash} the running server has loaded (null: none)
 * @param fileHash the one in the configuration file on disk now (the kubelet refreshes it some time
 *     after the ConfigMap changed; until then it is the previous one)
 * @param pendingRestart settings loaded from the file that only take effect at the next restart
 * @param fileErrors what PostgreSQL refuses in the file on disk ("file:line: error"); a server
 *     restarted with such a file would not start
 */
public record ConfigFacts(String loadedHash, String fileHash, List<PendingSetting> pendingRestart,
    List<String> fileErrors) {

  /** A setting whose new value waits for a restart: {@code current} is in effect, {@code pending} in the file. */
  public record PendingSetting(String name, String current, String pending) {
    @Override
    public String toString() {
      return name + " " + current + " -> " + pending;
    }
  }
}
