package dev.pgcluster.sandbox.bench;

import dev.pgcluster.operator.api.v1alpha1.ClusterPhase;
import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.sandbox.Sandbox;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Not a test: how long the operator takes from {@code apply} to a 3-instance cluster with every
 * instance Ready, against the same work done by hand on the same machine (initdb, start, two
 * pg_basebackups, two starts, both streaming). Prints each run, the medians and their ratio.
 *   bin/benchmark bootstrap [runs]
 */
public final class BootstrapBenchmark {
  private static final String MANIFEST = """
      apiVersion: pgcluster.dev/v1alpha1
      kind: PgCluster
      metadata:
        name: bench
      spec:
        instances: 3
        storage:
          size: 1Gi
      """;

  public static void main(String[] args) throws Exception {
    int runs = args.length > 0 ? Integer.parseInt(args[0]) : 3;
    List<Double> operator = new ArrayList<>();
    List<Double> byHand = new ArrayList<>();
    List<Double> controlPlane = new ArrayList<>();
    for (int i = 1; i <= runs; i++) {
      double hand = byHand();
      double[] op = throughOperator();
      byHand.add(hand);
      controlPlane.add(op[0]);
      operator.add(op[1]);
      System.out.printf("run %d: sandbox up (control plane, 4 nodes) %.2f s; operator apply -> 3 Ready %.2f s,"
          + " by hand %.2f s%n", i, op[0], op[1], hand);
    }
    double opMedian = median(operator);
    double handMedian = median(byHand);
    System.out.printf("%nmedian over %d runs: sandbox up %.2f s (target 10 s); operator %.2f s, by hand %.2f s,"
        + " ratio %.2fx (target 1.5x)%n", runs, median(controlPlane), opMedian, handMedian, opMedian / handMedian);
  }

  /** Seconds to bring the sandbox up (warm control-plane build), and from apply to 3 instances Ready. */
  static double[] throughOperator() throws Exception {
    long up = System.nanoTime();
    try (Sandbox sandbox = Sandbox.start()) {
      double upSeconds = (System.nanoTime() - up) / 1e9;
      sandbox.installOperator();
      // A user applies to an operator that runs already: one replica leads, both JVMs have started.
      dev.pgcluster.sandbox.Await.untilTrue(java.time.Duration.ofSeconds(60), "an operator leader",
          () -> sandbox.operatorLeader().isPresent());
      Thread.sleep(5000);
      long start = System.nanoTime();
      sandbox.apply("default", MANIFEST);
      while (true) {
        PgCluster c = sandbox.client().resources(PgCluster.class).inNamespace("default").withName("bench").get();
        if (c.getStatus() != null && c.getStatus().phase == ClusterPhase.Healthy
            && Integer.valueOf(3).equals(c.getStatus().readyInstances)) {
          return new double[] {upSeconds, (System.nanoTime() - start) / 1e9};
        }
        if (System.nanoTime() - start > TimeUnit.MINUTES.toNanos(5)) {
          throw new IllegalStateException("not Ready after 5 minutes");
        }
        Thread.sleep(50);
      }
    }
  }

  /** initdb, start, replication role, two clones with slots, two starts, until both stream. */
  static double byHand() throws Exception {
    Path base = Files.createTempDirectory(Path.of("/tmp"), "pgcbench-");
    base.toFile().setExecutable(true, false);
    base.toFile().setReadable(true, false);
    String bin = newestPostgresBin();
    List<Process> servers = new ArrayList<>();
    String[] ips = {"127.99.0.1", "127.99.0.2", "127.99.0.3"};
    try {
      run("chown", "postgres:postgres", base.toString());
      long start = System.nanoTime();
      asPostgres(bin + "/initdb", "-D", base + "/n0", "--data-checksums", "-U", "postgres", "--auth=trust", "-E",
          "UTF8", "--locale=C");
      servers.add(startServer(bin, base + "/n0", ips[0]));
      await(bin, ips[0]);
      asPostgres(bin + "/psql", "-h", ips[0], "-U", "postgres", "-c", "CREATE ROLE replication LOGIN REPLICATION");
      for (int i = 1; i <= 2; i++) {
        asPostgres(bin + "/pg_basebackup", "-h", ips[0], "-U", "replication", "-D", base + "/n" + i, "-X", "stream",
            "-c", "fast", "-R", "-C", "-S", "slot" + i);
        servers.add(startServer(bin, base + "/n" + i, ips[i]));
      }
      for (int i = 1; i <= 2; i++) {
        await(bin, ips[i]);
      }
      while (!asPostgres(bin + "/psql", "-h", ips[0], "-U", "postgres", "-At", "-c",
          "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'").trim().equals("2")) {
        Thread.sleep(50);
      }
      return (System.nanoTime() - start) / 1e9;
    } finally {
      for (Process p : servers) {
        p.destroy();
        p.waitFor(30, TimeUnit.SECONDS);
      }
      try (Stream<Path> walk = Files.walk(base)) {
        walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  private static Process startServer(String bin, String data, String ip) throws IOException {
    List<String> command = new ArrayList<>(prefix());
    command.addAll(List.of(bin + "/postgres", "-D", data, "-c", "listen_addresses=" + ip, "-c",
        "unix_socket_directories=", "-c", "port=5432"));
    return new ProcessBuilder(command).redirectErrorStream(true)
        .redirectOutput(new java.io.File(data + ".log")).start();
  }

  private static void await(String bin, String ip) throws Exception {
    while (new ProcessBuilder(bin + "/pg_isready", "-q", "-h", ip).start().waitFor() != 0) {
      Thread.sleep(50);
    }
  }

  private static String asPostgres(String... command) throws Exception {
    List<String> full = new ArrayList<>(prefix());
    full.addAll(List.of(command));
    return run(full.toArray(String[]::new));
  }

  private static String run(String... command) throws Exception {
    return runWithEnv(java.util.Map.of(), command);
  }

  static String runWithEnv(java.util.Map<String, String> env, String... command) throws Exception {
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
    pb.environment().putAll(env);
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes());
    if (p.waitFor() != 0) {
      throw new IllegalStateException(String.join(" ", command) + " failed:\n" + out);
    }
    return out;
  }

  private static List<String> prefix() {
    return "root".equals(System.getProperty("user.name"))
        ? List.of("setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--") : List.of();
  }

  static String newestPostgresBin() throws IOException {
    try (Stream<Path> versions = Files.list(Path.of("/usr/lib/postgresql"))) {
      return versions.filter(v -> Files.isExecutable(v.resolve("bin/postgres")))
          .max(Comparator.comparingInt(v -> Integer.parseInt(v.getFileName().toString())))
          .orElseThrow().resolve("bin").toString();
    }
  }

  private static double median(List<Double> values) {
    List<Double> sorted = values.stream().sorted().toList();
    int n = sorted.size();
    return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
  }

  private BootstrapBenchmark() {}
}
