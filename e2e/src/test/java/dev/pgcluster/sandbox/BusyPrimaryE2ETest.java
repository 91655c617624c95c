package dev.pgcluster.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.Comparator;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * A busy primary is not a failed one: pgbench at full load on the 2-core machine plus a forced
 * checkpoint in the middle, with the default detection settings, must not trigger a failover.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BusyPrimaryE2ETest {
  static final String NS = "default";
  Sandbox sandbox;
  SandboxCluster busy;

  @BeforeAll
  void startCluster() throws Exception {
    busy = SandboxCluster.start(NS, """
        apiVersion: pgcluster.dev/v1alpha1
        kind: PgCluster
        metadata:
          name: busy
        spec:
          instances: 3
          storage:
            size: 1Gi
        """, 3, Duration.ofSeconds(120));
    sandbox = busy.sandbox;
  }

  @AfterAll
  void stop() {
    SandboxCluster.closeAndCheckNoLeftovers(sandbox);
  }

  @Test
  void fullLoadAndACheckpointDoNotTriggerAFailover() throws Exception {
    String bin = newestPostgresBin();
    String host = sandbox.podIp(NS, "busy-0");
    Map<String, String> env = Map.of("PGPASSWORD", busy.password(busy.names.superuserSecret()));
    run(env, bin + "/pgbench", "-i", "-q", "-s", "10", "-h", host, "-U", "postgres", "app");
    ProcessBuilder load = new ProcessBuilder(bin + "/pgbench", "-n", "-c", "16", "-j", "2", "-T", "25", "-h", host,
        "-U", "postgres", "app").redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD);
    load.environment().putAll(env);
    Process pgbench = load.start();
    Thread.sleep(10_000);
    try (Connection primary = busy.toPod("busy-0"); Statement s = primary.createStatement()) {
      s.execute("CHECKPOINT");
    }
    assertTrue(pgbench.waitFor(60, TimeUnit.SECONDS), "pgbench did not finish");
    assertEquals(0, pgbench.exitValue(), "pgbench failed");
    PgCluster after = busy.get();
    assertEquals("busy-0", after.getStatus().currentPrimary, "a busy primary was failed over");
    assertEquals(0, after.getStatus().primaryEpoch);
    assertTrue(sandbox.client().v1().events().inNamespace(NS).list().getItems().stream()
        .noneMatch(e -> "FailoverStarted".equals(e.getReason())), "a FailoverStarted event was recorded");
  }

  private static void run(Map<String, String> env, String... command) throws Exception {
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
    pb.environment().putAll(env);
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes());
    assertEquals(0, p.waitFor(), out);
  }

  private static String newestPostgresBin() throws Exception {
    try (Stream<Path> versions = Files.list(Path.of("/usr/lib/postgresql"))) {
      return versions.filter(v -> Files.isExecutable(v.resolve("bin/pgbench")))
          .max(Comparator.comparingInt(v -> Integer.parseInt(v.getFileName().toString())))
          .orElseThrow().resolve("bin").toString();
    }
  }
}
