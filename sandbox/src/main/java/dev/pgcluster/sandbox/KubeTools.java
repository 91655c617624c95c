package dev.pgcluster.sandbox;

import dev.pgcluster.sandbox.controlplane.ControlPlaneBuild;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The pinned {@code helm} and {@code kubectl} (from sandbox/tools/k8s-clients.sh, cached outside the
 * repository), run against one kubeconfig, as a user runs them.
 */
public final class KubeTools {
  private final Path kubeconfig;

  public KubeTools(Path kubeconfig) {
    this.kubeconfig = kubeconfig;
  }

  public void install(String release, Path chart, String namespace, List<String> values, boolean skipCrds) {
    List<String> command = new ArrayList<>(List.of(tool("HELM"), "install", release, chart.toString(),
        "--namespace", namespace, "--create-namespace", "--kubeconfig", kubeconfig.toString()));
    if (skipCrds) {
      command.add("--skip-crds");
    }
    values.forEach(v -> command.addAll(List.of("--set", v)));
    Result result = run(command, 120);
    if (result.exit() != 0) {
      throw new IllegalStateException("helm install " + release + " failed: " + result.output().trim());
    }
  }

  /** Runs the pinned helm without a cluster (lint, template); returns its exit code and combined output. */
  public static Result helm(String... args) {
    List<String> command = new ArrayList<>(List.of(tool("HELM")));
    command.addAll(List.of(args));
    return run(command, 120);
  }

  /** Runs kubectl with the sandbox's kubeconfig; returns its exit code and combined output. */
  public Result kubectl(String... args) {
    return kubectlWithInput(null, args);
  }

  /** kubectl with {@code stdin} as its input (for {@code apply -f -}); null for none. */
  public Result kubectlWithInput(String stdin, String... args) {
    List<String> command = new ArrayList<>(List.of(tool("KUBECTL"), "--kubeconfig", kubeconfig.toString()));
    command.addAll(List.of(args));
    return run(command, 120, stdin);
  }

  /**
   * kubectl as a user runs a plugin: the sandbox's kubeconfig through $KUBECONFIG (kubectl finds a
   * plugin only when its name comes before any flag), {@code path} first on the PATH.
   */
  public Result kubectlPlugin(Path path, String... args) {
    return kubectlPluginWithInput(path, null, args);
  }

  /** As {@link #kubectlPlugin}, {@code stdin} typed in (an answer to a prompt); null for none. */
  public Result kubectlPluginWithInput(Path path, String stdin, String... args) {
    List<String> command = new ArrayList<>(List.of(tool("KUBECTL")));
    command.addAll(List.of(args));
    return run(command, 180, stdin, Map.of("KUBECONFIG", kubeconfig.toString(),
        "PATH", path + ":" + System.getenv().getOrDefault("PATH", "/usr/bin:/bin")));
  }

  public record Result(int exit, String output) {}

  private static Result run(List<String> command, int timeoutSeconds) {
    return run(command, timeoutSeconds, null);
  }

  private static Result run(List<String> command, int timeoutSeconds, String stdin) {
    return run(command, timeoutSeconds, stdin, Map.of());
  }

  private static Result run(List<String> command, int timeoutSeconds, String stdin, Map<String, String> env) {
    try {
      ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
      builder.environment().putAll(env);
      Process p = builder.start();
      if (stdin != null) {
        p.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
      }
      p.getOutputStream().close();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return new Result(-1, out + "\n(timed out after " + timeoutSeconds + " s)");
      }
      return new Result(p.exitValue(), out);
    } catch (IOException e) {
      throw new IllegalStateException("cannot run " + command.get(0) + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted running " + command.get(0));
    }
  }

  private static Map<String, String> tools;

  /** The path of a pinned client, installed into its cache on first use. */
  static synchronized String tool(String name) {
    if (tools == null) {
      Path script = ControlPlaneBuild.repositoryRoot().resolve("sandbox/tools/k8s-clients.sh");
      Result result = run(List.of("bash", script.toString()), 300);
      if (result.exit() != 0) {
        throw new IllegalStateException("cannot install kubectl and helm: " + result.output().trim());
      }
      Map<String, String> found = new java.util.HashMap<>();
      result.output().lines().filter(l -> l.matches("[A-Z]+=/.*"))
          .forEach(l -> found.put(l.substring(0, l.indexOf('=')), l.substring(l.indexOf('=') + 1)));
      tools = found;
    }
    String path = tools.get(name);
    if (path == null) {
      throw new IllegalStateException("sandbox/tools/k8s-clients.sh printed no " + name + " path");
    }
    return path;
  }
}
