package dev.pgcluster.sandbox;

import static dev.pgcluster.sandbox.SandboxCluster.one;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgcluster.operator.api.v1alpha1.InstanceRole;
import dev.pgcluster.operator.api.v1alpha1.InstanceStatus;
import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * A delayed standby (recovery_min_apply_delay) next to a normal one, asynchronous: the delay shows in
 * the data and in the status, lag shows in status and metrics under writes, and -ro leaves it out.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class DelayedStandbyE2ETest {
  static final Duration READY = Duration.ofSeconds(120);
  static final String NS = "default";
  static final long DELAY_MS = 4000;
  Sandbox sandbox;
  SandboxCluster delay;

  @BeforeAll
  void startCluster() throws Exception {
    delay = SandboxCluster.start(NS, """
        apiVersion: pgcluster.dev/v1alpha1
        kind: PgCluster
        metadata:
          name: delay
        spec:
          instances: 3
          storage:
            size: 1Gi
          replication:
            delayedReplicas:
              instances: 1
              applyDelay: 4s
        """, 3, READY);
    sandbox = delay.sandbox;
    try (Connection rw = delay.viaService("delay-rw"); Statement s = rw.createStatement()) {
      s.execute("CREATE TABLE events (id serial primary key, at timestamptz default clock_timestamp(), note text)");
    }
    try (Connection delayed = delay.toPod("delay-2")) {
      Await.until(Duration.ofSeconds(30), "the table on the delayed standby",
          () -> one(delayed, "SELECT to_regclass('events') IS NOT NULL"), "t"::equals);
    }
  }

  @AfterAll
  void stop() {
    SandboxCluster.closeAndCheckNoLeftovers(sandbox);
  }

  @Test
  @Order(1)
  void theLastOrdinalIsADelayedStandbyAndReadOnlyTrafficAvoidsIt() throws Exception {
    PgCluster cluster = delay.get();
    assertEquals(InstanceRole.DELAYED_REPLICA, instance(cluster, "delay-2").role);
    assertEquals(InstanceRole.REPLICA, instance(cluster, "delay-1").role);
    try (Connection standby = delay.toPod("delay-2")) {
      assertEquals("4s", one(standby, "SHOW recovery_min_apply_delay"));
    }
    Set<String> served = new HashSet<>();
    for (int i = 0; i < 6; i++) {
      try (Connection ro = delay.viaService("delay-ro")) {
        served.add(one(ro, "SELECT host(inet_server_addr())"));
      }
    }
    assertEquals(Set.of(sandbox.podIp(NS, "delay-1")), served, "-ro routes to non-delayed standbys only");
  }

  @Test
  @Order(2)
  void aRowReachesTheDelayedStandbyOnlyAfterTheDelay() throws Exception {
    long committed;
    try (Connection rw = delay.viaService("delay-rw"); Statement s = rw.createStatement()) {
      s.execute("INSERT INTO events (note) VALUES ('delayed')");
      committed = System.currentTimeMillis();
    }
    try (Connection normal = delay.toPod("delay-1"); Connection delayed = delay.toPod("delay-2")) {
      Await.until(Duration.ofSeconds(10), "the row on the normal standby",
          () -> one(normal, "SELECT count(*) FROM events WHERE note = 'delayed'"), "1"::equals);
      assertEquals("0", one(delayed, "SELECT count(*) FROM events WHERE note = 'delayed'"),
          "visible on the delayed standby before its delay");
      Await.until(Duration.ofSeconds(30), "the row on the delayed standby",
          () -> one(delayed, "SELECT count(*) FROM events WHERE note = 'delayed'"), "1"::equals);
      long seen = System.currentTimeMillis() - committed;
      assertTrue(seen >= DELAY_MS - 500, "applied after " + seen + " ms, before the 4 s delay");
    }
  }

  @Test
  @Order(3)
  void lagShowsInStatusAndMetricsUnderWrites() throws Exception {
    Thread writer = new Thread(() -> {
      try (Connection rw = delay.viaService("delay-rw"); Statement s = rw.createStatement()) {
        long end = System.currentTimeMillis() + 15_000;
        while (System.currentTimeMillis() < end) {
          s.execute("INSERT INTO events (note) SELECT 'load' FROM generate_series(1, 200)");
        }
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    writer.start();
    try {
      InstanceStatus lagging = Await.until(Duration.ofSeconds(15), "lag of the delayed standby in the status",
          () -> instance(delay.get(), "delay-2"), s -> s.lagBytes != null && s.lagBytes > 0);
      assertTrue(lagging.lagSeconds != null && lagging.lagSeconds >= 0);
      String metrics = Await.until(Duration.ofSeconds(15), "lag in the metrics", this::metrics,
          m -> m.lines().anyMatch(l -> l.startsWith("pgcluster_instance_lag_bytes") && l.contains("instance=\"delay-2\"")
              && !l.endsWith(" 0.0")));
      assertTrue(metrics.contains("pgcluster_instance_primary{"), metrics);
    } finally {
      writer.join();
    }
  }

  private String metrics() throws Exception {
    HttpResponse<String> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
        URI.create("http://" + sandbox.podIp(Sandbox.OPERATOR_NAMESPACE, sandbox.operatorLeader().orElseThrow())
            + ":8080/metrics")).build(), HttpResponse.BodyHandlers.ofString());
    return response.body();
  }

  private static InstanceStatus instance(PgCluster cluster, String name) {
    return cluster.getStatus().instances.stream().filter(i -> i.name.equals(name)).findFirst().orElseThrow();
  }
}
