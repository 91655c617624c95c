package dev.pgcluster.sandbox.bench;

import dev.pgcluster.operator.api.v1alpha1.ClusterPhase;
import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.sandbox.Sandbox;
import io.fabric8.kubernetes.api.model.Secret;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Not a test: pgbench TPS and latency for the replication modes, in one run on this machine, each on a
 * fresh 3-instance cluster driven by the operator in the sandbox. pgbench connects to the primary's pod
 * address: the sandbox's userspace Service proxy would measure itself, not replication.
 *   bin/benchmark replication [seconds per mode] [clients]
 */
public final class ReplicationModesBenchmark {
  record Mode(String name, String replication) {}

  static final List<Mode> MODES = List.of(
      new Mode("async", "mode: async"),
      new Mode("sync ANY 1", "mode: sync\n    method: any\n    number: 1"),
      new Mode("sync FIRST 2", "mode: sync\n    method: first\n    number: 2"),
      new Mode("sync ANY 1 remote_apply", "mode: sync\n    method: any\n    number: 1\n    synchronousCommit: remote_apply"));

  public static void main(String[] args) throws Exception {
    int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 20;
    int clients = args.length > 1 ? Integer.parseInt(args[1]) : 4;
    String bin = BootstrapBenchmark.newestPostgresBin();
    List<String[]> rows = new ArrayList<>();
    try (Sandbox sandbox = Sandbox.start()) {
      sandbox.installOperator();
      int n = 0;
      for (Mode mode : MODES) {
        String name = "bench" + n++;
        sandbox.apply("default", """
            apiVersion: pgcluster.dev/v1alpha1
            kind: PgCluster
            metadata:
              name: %s
            spec:
              instances: 3
              storage:
                size: 1Gi
              replication:
                %s
            """.formatted(name, mode.replication()));
        awaitHealthy(sandbox, name);
        String host = sandbox.podIp("default", name + "-0");
        String password = password(sandbox, name + "-superuser");
        Map<String, String> env = Map.of("PGPASSWORD", password);
        BootstrapBenchmark.runWithEnv(env, bin + "/pgbench", "-i", "-q", "-s", "5", "-h", host, "-U", "postgres", "app");
        String out = BootstrapBenchmark.runWithEnv(env, bin + "/pgbench", "-n", "-c", Integer.toString(clients), "-j",
            "2", "-T", Integer.toString(seconds), "-h", host, "-U", "postgres", "app");
        rows.add(new String[] {mode.name(), find(out, "tps = ([0-9.]+)"), find(out, "latency average = ([0-9.]+) ms"),
            find(out, "number of transactions actually processed: (\\d+)")});
        System.out.printf("%-26s done%n", mode.name());
        sandbox.client().resources(PgCluster.class).inNamespace("default").withName(name).delete();
        Thread.sleep(2000);
      }
    }
    double baseline = Double.parseDouble(rows.get(0)[1]);
    System.out.printf("%npgbench TPC-B-like, scale 5, %d clients, %d s per mode, 3 instances (PostgreSQL %s)%n",
        clients, seconds, bin.replaceAll(".*/postgresql/(\\d+)/bin", "$1"));
    System.out.printf("%-26s %10s %14s %12s %10s%n", "mode", "tps", "latency (ms)", "transactions", "vs async");
    for (String[] r : rows) {
      System.out.printf("%-26s %10s %14s %12s %9.2fx%n", r[0], r[1], r[2], r[3], Double.parseDouble(r[1]) / baseline);
    }
  }

  static void awaitHealthy(Sandbox sandbox, String name) throws InterruptedException {
    awaitHealthy(sandbox, name, 3);
  }

  static void awaitHealthy(Sandbox sandbox, String name, int minutes) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(minutes);
    while (System.nanoTime() < deadline) {
      PgCluster c = sandbox.client().resources(PgCluster.class).inNamespace("default").withName(name).get();
      if (c != null && c.getStatus() != null && c.getStatus().phase == ClusterPhase.Healthy) {
        return;
      }
      Thread.sleep(200);
    }
    throw new IllegalStateException(name + " not Healthy after " + minutes + " minutes");
  }

  private static String password(Sandbox sandbox, String secret) {
    Secret s = sandbox.client().secrets().inNamespace("default").withName(secret).get();
    return new String(Base64.getDecoder().decode(s.getData().get("password")), StandardCharsets.UTF_8);
  }

  private static String find(String text, String regex) {
    Matcher m = Pattern.compile(regex).matcher(text);
    if (!m.find()) {
      throw new IllegalStateException("no '" + regex + "' in pgbench output:\n" + text);
    }
    return m.group(1);
  }

  private ReplicationModesBenchmark() {}
}
