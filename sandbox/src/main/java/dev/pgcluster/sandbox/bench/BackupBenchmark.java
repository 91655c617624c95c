package dev.pgcluster.sandbox.bench;

import dev.pgcluster.operator.api.v1alpha1.PgBackup;
import dev.pgcluster.operator.api.v1alpha1.PgBackupStatus;
import dev.pgcluster.sandbox.Sandbox;
import dev.pgcluster.sandbox.objectstore.ObjectStore;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.Secret;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Not a test: what backups cost, in one run on this machine, through the operator in the sandbox with
 * pgBackRest writing to the sandbox's S3 server.
 * <ul>
 *   <li>pgbench TPS on two single-instance clusters, one archiving every WAL segment to the store and
 *       one not, in alternating runs (the goal: archiving costs 5 % or less);</li>
 *   <li>a base backup of a database of about 1 GB (pgbench scale 68) taken through a PgBackup, against
 *       raw {@code pg_basebackup} of the same instance to local disk;</li>
 *   <li>the restore of that backup into a new cluster (apply to Healthy), against a new empty cluster.</li>
 * </ul>
 *   bin/benchmark backup [pgbench scale] [seconds per TPS run] [clients]
 */
public final class BackupBenchmark {
  static final String NS = "default";
  static final String SECRET = "store";

  public static void main(String[] args) throws Exception {
    int scale = args.length > 0 ? Integer.parseInt(args[0]) : 68;
    int seconds = args.length > 1 ? Integer.parseInt(args[1]) : 20;
    int clients = args.length > 2 ? Integer.parseInt(args[2]) : 4;
    String bin = BootstrapBenchmark.newestPostgresBin();
    try (Sandbox sandbox = Sandbox.start()) {
      sandbox.installOperator();
      ObjectStore store = sandbox.objectStore();
      sandbox.client().secrets().inNamespace(NS).resource(store.credentialsSecret(NS, SECRET)).create();

      long emptyStart = System.nanoTime();
      apply(sandbox, "plain", "");
      ReplicationModesBenchmark.awaitHealthy(sandbox, "plain");
      double emptySeconds = secondsSince(emptyStart);
      apply(sandbox, "archived", ObjectStore.specYaml(SECRET, "  "));
      ReplicationModesBenchmark.awaitHealthy(sandbox, "archived");

      // Archiving overhead: the same pgbench on each, in pairs whose order alternates (the second run of
      // a pair finds a warmer machine), three pairs; medians compared.
      List<Double> plainTps = new ArrayList<>();
      List<Double> archivedTps = new ArrayList<>();
      for (String name : List.of("plain", "archived")) {
        pgbench(sandbox, bin, name, "-i", "-q", "-s", "5");
      }
      long segmentsBefore = walObjects(store);
      String[] run = {"-n", "-c", Integer.toString(clients), "-j", "2", "-T", Integer.toString(seconds)};
      for (int pair = 0; pair < 3; pair++) {
        for (String name : pair % 2 == 0 ? List.of("plain", "archived") : List.of("archived", "plain")) {
          (name.equals("plain") ? plainTps : archivedTps).add(tps(pgbench(sandbox, bin, name, run)));
        }
        System.out.printf("TPS pair %d: without archiving %.0f, with %.0f%n", pair + 1, plainTps.get(pair),
            archivedTps.get(pair));
      }
      long archivedSegments = walObjects(store) - segmentsBefore;

      // About 1 GB: pg_basebackup to local disk, then the same data through a PgBackup.
      pgbench(sandbox, bin, "archived", "-i", "-q", "-s", Integer.toString(scale));
      String host = sandbox.podIp(NS, "archived-0");
      long databaseBytes = Long.parseLong(psql(sandbox, bin, "archived",
          "SELECT sum(pg_database_size(oid)) FROM pg_database").strip());
      Path target = Files.createTempDirectory("pgcluster-basebackup");
      long baseStart = System.nanoTime();
      BootstrapBenchmark.runWithEnv(Map.of("PGPASSWORD", password(sandbox, "archived-replication")),
          bin + "/pg_basebackup", "-h", host, "-U", "replication", "-D", target.resolve("data").toString(),
          "-X", "stream", "-c", "fast", "--no-sync");
      double baseSeconds = secondsSince(baseStart);
      BootstrapBenchmark.runWithEnv(Map.of(), "rm", "-rf", target.toString());

      long backupStart = System.nanoTime();
      PgBackup backup = new PgBackup();
      backup.setMetadata(new ObjectMetaBuilder().withName("bench").withNamespace(NS).build());
      backup.setSpec(new dev.pgcluster.operator.api.v1alpha1.PgBackupSpec());
      backup.getSpec().cluster = "archived";
      sandbox.client().resources(PgBackup.class).inNamespace(NS).resource(backup).create();
      PgBackupStatus done = awaitBackup(sandbox, "bench");
      double backupSeconds = secondsSince(backupStart);

      // The restore: everything up to the end of the archive, into a new single-instance cluster.
      long restoreStart = System.nanoTime();
      apply(sandbox, "restored", "  bootstrap:\n    recovery:\n      source: archived\n"
          + ObjectStore.specYaml(SECRET, "  "));
      ReplicationModesBenchmark.awaitHealthy(sandbox, "restored", 15);
      double restoreSeconds = secondsSince(restoreStart);
      String restoredRows = psql(sandbox, bin, "restored", "SELECT count(*) FROM pgbench_accounts").strip();
      if (!restoredRows.equals(Long.toString(scale * 100_000L))) {
        throw new IllegalStateException("the restored cluster has " + restoredRows + " accounts, not " + scale * 100_000L);
      }

      double plain = median(plainTps);
      double withArchive = median(archivedTps);
      System.out.printf("%n%s to s3proxy over HTTPS, PostgreSQL %s, single-instance clusters%n",
          BootstrapBenchmark.runWithEnv(Map.of(), "pgbackrest", "version").strip(),
          bin.replaceAll(".*/postgresql/(\\d+)/bin", "$1"));
      System.out.printf("%-44s %12s %12s %10s%n", "", "measured", "baseline", "ratio");
      System.out.printf("%-44s %12.0f %12.0f %9.3fx   (%d segments archived; overhead %.1f %%)%n",
          "pgbench TPS (median of 3), archiving on vs off", withArchive, plain, withArchive / plain, archivedSegments,
          100 * (1 - withArchive / plain));
      System.out.printf("%-44s %11.1fs %11.1fs %9.2fx   (PgBackup vs pg_basebackup to local disk)%n",
          String.format("full backup of %.2f GB", databaseBytes / 1e9), backupSeconds, baseSeconds,
          backupSeconds / baseSeconds);
      System.out.printf("%-44s %12s %12s %10s   (%s, %d bytes in the store, %s -> %s)%n", "", "", "", "",
          done.label, done.repositoryBytes, done.startedAt, done.stoppedAt);
      System.out.printf("%-44s %11.1fs %11.1fs %9.2fx   (apply to Healthy vs a new empty cluster)%n",
          "restore of that backup", restoreSeconds, emptySeconds, restoreSeconds / emptySeconds);
    }
  }

  private static void apply(Sandbox sandbox, String name, String extra) {
    sandbox.apply(NS, """
        apiVersion: pgcluster.dev/v1alpha1
        kind: PgCluster
        metadata:
          name: %s
        spec:
          instances: 1
          storage:
            size: 4Gi
        """.formatted(name) + extra);
  }

  /** WAL segments in the bucket (s3proxy keeps each object as a file; pgBackRest appends a checksum). */
  private static long walObjects(ObjectStore store) throws java.io.IOException {
    try (var files = Files.walk(store.bucketDirectory())) {
      return files.filter(p -> p.getFileName().toString().matches("[0-9A-F]{24}-.*")).count();
    }
  }

  private static PgBackupStatus awaitBackup(Sandbox sandbox, String name) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(20);
    while (System.nanoTime() < deadline) {
      PgBackup b = sandbox.client().resources(PgBackup.class).inNamespace(NS).withName(name).get();
      if (b != null && b.getStatus() != null && b.getStatus().phase != null) {
        switch (b.getStatus().phase) {
          case "Completed":
            return b.getStatus();
          case "Failed":
            throw new IllegalStateException("backup " + name + " failed: " + b.getStatus().message);
          default:
            break;
        }
      }
      Thread.sleep(500);
    }
    throw new IllegalStateException("backup " + name + " not done after 20 minutes");
  }

  private static String pgbench(Sandbox sandbox, String bin, String cluster, String... args) throws Exception {
    List<String> command = new ArrayList<>(List.of(bin + "/pgbench"));
    command.addAll(List.of(args));
    command.addAll(List.of("-h", sandbox.podIp(NS, cluster + "-0"), "-U", "postgres", "app"));
    return BootstrapBenchmark.runWithEnv(Map.of("PGPASSWORD", password(sandbox, cluster + "-superuser")),
        command.toArray(String[]::new));
  }

  private static String psql(Sandbox sandbox, String bin, String cluster, String sql) throws Exception {
    return BootstrapBenchmark.runWithEnv(Map.of("PGPASSWORD", password(sandbox, cluster + "-superuser")),
        bin + "/psql", "-h", sandbox.podIp(NS, cluster + "-0"), "-U", "postgres", "-d", "app", "-At", "-c", sql);
  }

  private static String password(Sandbox sandbox, String secret) {
    Secret s = sandbox.client().secrets().inNamespace(NS).withName(secret).get();
    return new String(Base64.getDecoder().decode(s.getData().get("password")), StandardCharsets.UTF_8);
  }

  private static double tps(String pgbenchOutput) {
    Matcher m = Pattern.compile("tps = ([0-9.]+)").matcher(pgbenchOutput);
    if (!m.find()) {
      throw new IllegalStateException("no tps in pgbench output:\n" + pgbenchOutput);
    }
    return Double.parseDouble(m.group(1));
  }

  private static double median(List<Double> values) {
    List<Double> sorted = values.stream().sorted().toList();
    return sorted.get(sorted.size() / 2);
  }

  private static double secondsSince(long start) {
    return (System.nanoTime() - start) / 1e9;
  }

  private BackupBenchmark() {}
}
