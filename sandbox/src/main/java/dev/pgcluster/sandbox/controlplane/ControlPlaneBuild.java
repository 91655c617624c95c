package dev.pgcluster.sandbox.controlplane;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/** Finds (building when needed) the control-plane binaries through sandbox/controlplane/build.sh. */
public final class ControlPlaneBuild {
  private ControlPlaneBuild() {}

  /** The directory with etcd, kube-apiserver, kube-controller-manager and kube-scheduler. */
  public static Path binaries() {
    Path script = repositoryRoot().resolve("sandbox/controlplane/build.sh");
    try {
      Process build = new ProcessBuilder("bash", script.toString())
          .redirectError(ProcessBuilder.Redirect.INHERIT).start();
      String out = new String(build.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
      if (!build.waitFor(60, TimeUnit.MINUTES) || build.exitValue() != 0) {
        throw new IllegalStateException("the control-plane build failed (its message is above); retry with "
            + script);
      }
      return Path.of(out.substring(out.lastIndexOf('\n') + 1));
    } catch (IOException e) {
      throw new IllegalStateException("cannot run " + script + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while building the control plane");
    }
  }

  /** The repository: from pgcluster.repository, else the first directory upwards holding sandbox/controlplane. */
  public static Path repositoryRoot() {
    String property = System.getProperty("pgcluster.repository");
    if (property != null) {
      return Path.of(property).toAbsolutePath();
    }
    for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
      if (Files.isRegularFile(p.resolve("sandbox/controlplane/go.mod"))) {
        return p;
      }
    }
    throw new IllegalStateException("cannot find the repository (sandbox/controlplane/go.mod) above "
        + Path.of("").toAbsolutePath() + ": set -Dpgcluster.repository");
  }
}
