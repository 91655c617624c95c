package dev.pgcluster.sandbox.bench;

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
 * Not a test: pgbench through the pooler (spec.pooler, PgBouncer in transaction mode) against straight
 * to the primary through -rw, in one run on one cluster, with a new connection per transaction (-C, the
 * case a pooler is for) and with persistent connections. Both paths cross the sandbox's userspace
 * Service proxy (the pooler's twice: client to PgBouncer, PgBouncer to -rw).
 *   bin/benchmark pooler [seconds per run] [clients]
 */
public final class PoolerBenchmark {
  public static void main(String[] args) throws Exception {
    int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 15;
    int clients = args.length > 1 ? Integer.parseInt(args[1]) : 8;
    String bin = BootstrapBenchmark.newestPostgresBin();
    List<String[]> rows = new ArrayList<>();
    try (Sandbox sandbox = Sandbox.start()) {
      sandbox.installOperator();
      sandbox.apply("default", """
          apiVersion: pgcluster.dev/v1alpha1
          kind: PgCluster
          metadata:
            name: bench
          spec:
            instances: 1
            storage:
              size: 1Gi
            pooler:
              instances: 1
              poolMode: transaction
              defaultPoolSize: %d
          """.formatted(clients));
      ReplicationModesBenchmark.awaitHealthy(sandbox, "bench");
      awaitPooler(sandbox);
      String password = password(sandbox, "bench-app");
      Map<String, String> env = Map.of("PGPASSWORD", password);
      String direct = sandbox.serviceAddress("default", "bench-rw");
      String pooled = sandbox.serviceAddress("default", "bench-pooler-rw");
      BootstrapBenchmark.runWithEnv(env, bin + "/pgbench", "-i", "-q", "-s", "5", "-h", direct, "-U", "app", "app");
      for (boolean reconnect : List.of(true, false)) {
        for (String[] path : List.of(new String[] {"direct (-rw)", direct}, new String[] {"pooler", pooled})) {
          List<String> command = new ArrayList<>(List.of(bin + "/pgbench", "-n", "-S", "-c", Integer.toString(clients),
              "-j", "2", "-T", Integer.toString(seconds), "-h", path[1], "-U", "app"));
          if (reconnect) {
            command.add("-C");
          }
          command.add("app");
          String out = BootstrapBenchmark.runWithEnv(env, command.toArray(String[]::new));
          rows.add(new String[] {reconnect ? "new connection each (-C)" : "persistent", path[0],
              find(out, "tps = ([0-9.]+)"), find(out, "latency average = ([0-9.]+) ms"),
              find(out, "number of failed transactions: (\\d+)")});
          System.out.printf("%-26s %-14s done%n", rows.get(rows.size() - 1)[0], path[0]);
        }
      }
    }
    System.out.printf("%npgbench select-only, scale 5, %d clients, %d s per run, 1 instance, 1 PgBouncer pod"
        + " (transaction mode, pool %d)%n", clients, seconds, clients);
    System.out.printf("%-26s %-14s %10s %14s %8s %12s%n", "connections", "path", "tps", "latency (ms)", "failed",
        "vs direct");
    for (int i = 0; i < rows.size(); i += 2) {
      double base = Double.parseDouble(rows.get(i)[2]);
      for (String[] r : rows.subList(i, i + 2)) {
        System.out.printf("%-26s %-14s %10s %14s %8s %11.2fx%n", r[0], r[1], r[2], r[3], r[4],
            Double.parseDouble(r[2]) / base);
      }
    }
  }

  private static void awaitPooler(Sandbox sandbox) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
    String password = password(sandbox, "bench-app");
    while (System.nanoTime() < deadline) {
      try (var c = java.sql.DriverManager.getConnection("jdbc:postgresql://"
          + sandbox.serviceAddress("default", "bench-pooler-rw") + ":5432/app?prepareThreshold=0&connectTimeout=3",
          "app", password)) {
        return;
      } catch (Exception e) {
        Thread.sleep(500);
      }
    }
    throw new IllegalStateException("no login through the pooler after 3 minutes");
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

  private PoolerBenchmark() {}
}
