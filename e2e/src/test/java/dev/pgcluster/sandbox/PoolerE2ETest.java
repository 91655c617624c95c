package dev.pgcluster.sandbox;

import static dev.pgcluster.sandbox.SandboxCluster.one;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * spec.pooler: PgBouncer in front of the primary. Applications log in through it with their own
 * passwords (looked up in the database, never listed in a ConfigMap); a switchover pauses the pool so
 * that transaction-mode clients see a delay and no error; a failover drops the pooled connections to the
 * former primary and every acknowledged write survives; a pooler pod that dies is replaced.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PoolerE2ETest {
  static final String NS = "default";
  static final Duration READY = Duration.ofSeconds(180);
  Sandbox sandbox;
  SandboxCluster pool;

  @BeforeAll
  void startCluster() throws Exception {
    pool = SandboxCluster.start(NS, """
        apiVersion: pgcluster.dev/v1alpha1
        kind: PgCluster
        metadata:
          name: pool
        spec:
          instances: 3
          storage:
            size: 1Gi
          replication:
            mode: sync
            number: 1
            durability: required
          pooler:
            instances: 2
            poolMode: transaction
            defaultPoolSize: 10
        """, 3, READY);
    sandbox = pool.sandbox;
    awaitPoolerReady();
    try (Connection c = pool.viaService("pool-rw"); Statement s = c.createStatement()) {
      s.execute("CREATE TABLE pooled (writer int, seq int, PRIMARY KEY (writer, seq))");
    }
  }

  @AfterAll
  void stop() {
    SandboxCluster.closeAndCheckNoLeftovers(sandbox);
  }

  @Test
  @Order(1)
  void applicationsLogInThroughThePoolerToThePrimary() throws Exception {
    String primary = pool.get().getStatus().currentPrimary;
    try (Connection c = viaPooler()) {
      assertEquals("app", one(c, "SELECT current_user"));
      assertEquals(sandbox.podIp(NS, primary), one(c, "SELECT host(inet_server_addr())"));
      assertEquals("f", one(c, "SELECT pg_is_in_recovery()"));
    }
    // The lookup answers for no superuser: the pooler cannot be used to log in as one.
    SQLException superuser = assertThrows(SQLException.class, () -> SandboxCluster.connect(
        sandbox.serviceAddress(NS, "pool-pooler-rw"), "app", "postgres", pool.password("pool-superuser")));
    assertTrue(superuser.getMessage().contains("no such user"), superuser.getMessage());
    SQLException wrong = assertThrows(SQLException.class, () -> SandboxCluster.connect(
        sandbox.serviceAddress(NS, "pool-pooler-rw"), "app", "app", "not-the-password"));
    assertTrue(wrong.getMessage().contains("authentication failed"), wrong.getMessage());
    // No password in the pooler's ConfigMap.
    var config = sandbox.client().configMaps().inNamespace(NS).withName("pool-pooler").get().getData();
    String rendered = String.join("\n", config.values());
    assertFalse(rendered.contains(pool.password("pool-app")));
    assertFalse(rendered.contains(pool.password("pool-pooler")));
    assertTrue(config.get("pgbouncer.ini").contains("pool_mode = transaction"), config.get("pgbouncer.ini"));
  }

  @Test
  @Order(2)
  void aSwitchoverPausesThePoolAndClientsSeeNoError() throws Exception {
    String from = pool.get().getStatus().currentPrimary;
    String target = java.util.stream.Stream.of("pool-0", "pool-1", "pool-2").filter(p -> !p.equals(from))
        .findFirst().orElseThrow();
    // Beside the writers, a pgbench client (TPC-B-like transactions) through the pooler: it stops at the
    // first error it gets, so exit status 0 and no failed transaction mean none reached it.
    String bin = pgBin();
    java.util.Map<String, String> env = java.util.Map.of("PGPASSWORD", pool.password("pool-app"));
    run(env, bin + "/pgbench", "-i", "-q", "-s", "1", "-h", sandbox.serviceAddress(NS, "pool-rw"), "-U", "app", "app");
    ProcessBuilder pgbench = new ProcessBuilder(bin + "/pgbench", "-n", "-c", "2", "-j", "1", "-T", "45", "-h",
        sandbox.serviceAddress(NS, "pool-pooler-rw"), "-U", "app", "app").redirectErrorStream(true);
    pgbench.environment().putAll(env);
    Process bench = pgbench.start();
    var benchOutput = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
      try {
        return new String(bench.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
      } catch (java.io.IOException e) {
        return e.toString();
      }
    });
    try (Writers writers = new Writers(1, 4)) {
      writers.awaitAcks(200);
      sandbox.editCluster(NS, "pool", c -> {
        c.getSpec().switchover = new dev.pgcluster.operator.api.v1alpha1.SwitchoverSpec();
        c.getSpec().switchover.target = target;
        c.getSpec().switchover.id = "pooled-1";
        return c;
      });
      Await.until(Duration.ofSeconds(60), "the switchover to " + target,
          () -> target.equals(pool.get().getStatus().currentPrimary));
      awaitNotHeld();
      assertTrue(bench.isAlive(), "pgbench was still running when the switchover was over: it ran through it");
      int before = writers.acked.size();
      writers.awaitAcks(before + 200);
      writers.stop();
      System.out.printf("switchover through the pooler %s -> %s: %d writes acknowledged, %d client errors,"
          + " longest write gap %.2f s%n", from, target, writers.acked.size(), writers.errors.get(),
          writers.longestGapNanos.get() / 1e9);
      assertEquals(0, writers.errors.get(), "client errors through the pooler: " + writers.firstErrors);
      assertEquals(List.of(), missingOn(target, writers), "acknowledged writes lost in the switchover");
    }
    assertTrue(bench.waitFor(75, java.util.concurrent.TimeUnit.SECONDS), "pgbench finished");
    String out = benchOutput.get(10, java.util.concurrent.TimeUnit.SECONDS);
    System.out.println("pgbench through the pooler across the switchover:\n" + out);
    assertEquals(0, bench.exitValue(), out);
    assertTrue(out.contains("number of failed transactions: 0 "), out);
    java.util.regex.Matcher processed = java.util.regex.Pattern.compile("actually processed: (\\d+)").matcher(out);
    assertTrue(processed.find() && Integer.parseInt(processed.group(1)) > 0, out);
    assertTrue(sandbox.client().v1().events().inNamespace(NS).list().getItems().stream()
        .anyMatch(e -> "PoolerResumed".equals(e.getReason())), "a PoolerResumed event");
  }

  @Test
  @Order(3)
  void aFailoverDropsPooledConnectionsToTheFormerPrimaryAndLosesNoAcknowledgedWrite() throws Exception {
    pool.awaitReadyInstances(3, READY);
    String from = pool.get().getStatus().currentPrimary;
    try (Writers writers = new Writers(2, 4)) {
      writers.awaitAcks(200);
      // Cut off from everything: the pooler's connections to it hang, as to a node that vanished.
      var cut = sandbox.partition(NS, from, new dev.pgcluster.sandbox.net.PodNetwork.Peer.Everything());
      try {
        PgCluster after = Await.until(Duration.ofSeconds(60), "a new primary", pool::get,
            c -> c.getStatus().currentPrimary != null && !c.getStatus().currentPrimary.equals(from));
        String to = after.getStatus().currentPrimary;
        int before = writers.acked.size();
        writers.awaitAcks(before + 200);
        writers.stop();
        System.out.printf("failover through the pooler %s -> %s: longest write gap %.1f s, %d writes"
            + " acknowledged, %d client errors%n", from, to, writers.longestGapNanos.get() / 1e9, writers.acked.size(),
            writers.errors.get());
        // Only the writes in flight when the primary went (one per writer, each failing at most twice: its
        // socket timeout, then the pooler dropping it) fail; the others wait for the new primary.
        assertTrue(writers.errors.get() <= 2 * writers.count, "client errors: " + writers.errors.get() + " "
            + writers.firstErrors);
        assertEquals(List.of(), missingOn(to, writers), "acknowledged writes lost in the failover");
      } finally {
        sandbox.heal(cut);
      }
    }
    pool.awaitReadyInstances(3, READY);
  }

  @Test
  @Order(4)
  void aPoolerPodThatDiesIsReplacedAndClientsReconnectThroughTheService() throws Exception {
    var pods = sandbox.client().pods().inNamespace(NS).withLabel("pgcluster.dev/pooler", "pool").list().getItems();
    assertEquals(2, pods.size());
    Set<String> before = new HashSet<>();
    pods.forEach(p -> before.add(p.getMetadata().getName()));
    String deleted = pods.get(0).getMetadata().getName();
    sandbox.deletePod(NS, deleted);
    Await.until(Duration.ofSeconds(60), "a write through the pooler", () -> {
      try (Connection c = viaPooler(); Statement s = c.createStatement()) {
        s.execute("INSERT INTO pooled VALUES (3, 1) ON CONFLICT DO NOTHING");
        return true;
      } catch (SQLException e) {
        return false;
      }
    });
    // Settled before the next test: the deleted pod gone (not only terminating), its replacement ready and
    // in the Service's endpoints. The Deployment's readyReplicas alone can still count the deleted pod.
    Await.until(READY, "the deleted pooler pod gone and two ready pooler pods in the Service", () -> {
      List<String> readyIps = new ArrayList<>();
      for (var p : sandbox.client().pods().inNamespace(NS).withLabel("pgcluster.dev/pooler", "pool").list().getItems()) {
        if (p.getMetadata().getName().equals(deleted) || p.getMetadata().getDeletionTimestamp() != null
            || p.getStatus() == null || p.getStatus().getConditions() == null || p.getStatus().getConditions().stream()
                .noneMatch(c -> "Ready".equals(c.getType()) && "True".equals(c.getStatus()))) {
          return false;
        }
        readyIps.add(p.getStatus().getPodIP());
      }
      return readyIps.size() == 2 && new HashSet<>(readyIps).equals(new HashSet<>(serviceEndpoints("pool-pooler-rw")));
    }, settled -> settled);
    awaitPoolerReady();
    Set<String> after = new HashSet<>();
    sandbox.client().pods().inNamespace(NS).withLabel("pgcluster.dev/pooler", "pool").list().getItems()
        .forEach(p -> after.add(p.getMetadata().getName()));
    assertNotEquals(before, after, "the deleted pooler pod was replaced");
  }

  @Test
  @Order(5)
  void thePoolersFiguresAreInTheOperatorsMetrics() throws Exception {
    for (int i = 0; i < 20; i++) {
      try (Connection c = viaPooler(); Statement s = c.createStatement()) {
        s.execute("INSERT INTO pooled VALUES (5, " + i + ")");
      }
    }
    Set<String> pods = new HashSet<>();
    sandbox.client().pods().inNamespace(NS).withLabel("pgcluster.dev/pooler", "pool").list().getItems()
        .forEach(p -> pods.add(p.getMetadata().getName()));
    String metrics = Await.until(Duration.ofSeconds(40), "the pooler pods' rows in the metrics", this::metrics, m -> {
      Set<String> seen = new HashSet<>();
      double transactions = 0;
      for (String line : m.lines().filter(l -> l.startsWith("pgcluster_pooler_transactions{")).toList()) {
        seen.add(line.replaceAll(".*pod=\"([^\"]+)\".*", "$1"));
        transactions += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      }
      return seen.equals(pods) && transactions >= 20;
    });
    for (String pod : pods) {
      assertTrue(metrics.contains("pgcluster_pooler_clients{cluster=\"pool\",namespace=\"default\",pod=\"" + pod
          + "\",state=\"waiting\"} 0.0"), metrics);
    }
    assertTrue(metrics.lines().anyMatch(l -> l.startsWith("pgcluster_pooler_servers{") && l.contains("state=\"idle\"")),
        metrics);
    assertFalse(metrics.lines().anyMatch(l -> l.startsWith("pgcluster_") && l.endsWith("NaN")), metrics);
    // The leader's liveness also judges its informers: all of them watch.
    var health = java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(
        java.net.URI.create("http://" + sandbox.podIp(Sandbox.OPERATOR_NAMESPACE, sandbox.operatorLeader().orElseThrow())
            + ":8080/healthz")).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
    assertEquals(200, health.statusCode(), health.body());
    assertEquals("ok\n", health.body());
  }

  /**
   * spec.pooler.readOnlyInstances: PgBouncer in front of the standbys, behind pool-pooler-ro. Reads reach
   * a standby, a write is refused, and the -rw pooler's pods are not rolled by its arrival or departure.
   */
  @Test
  @Order(6)
  void aReadOnlyPoolerServesReadsFromTheStandbysAndRefusesWrites() throws Exception {
    Set<String> rwPods = new HashSet<>();
    sandbox.client().pods().inNamespace(NS).withLabel("pgcluster.dev/pooler", "pool").list().getItems()
        .forEach(p -> rwPods.add(p.getMetadata().getName()));
    sandbox.editCluster(NS, "pool", c -> {
      c.getSpec().pooler.readOnlyInstances = 1;
      return c;
    });
    Await.until(READY, "the read-only pooler ready", () -> sandbox.client().apps().deployments().inNamespace(NS)
        .withName("pool-pooler-ro").get(), (Deployment d) -> d != null && d.getStatus() != null
            && Integer.valueOf(1).equals(d.getStatus().getReadyReplicas()));
    String primary = pool.get().getStatus().currentPrimary;
    Set<String> standbyIps = new HashSet<>();
    for (String pod : List.of("pool-0", "pool-1", "pool-2")) {
      if (!pod.equals(primary)) {
        standbyIps.add(sandbox.podIp(NS, pod));
      }
    }
    String server = Await.until(Duration.ofSeconds(60), "a login through the read-only pooler", () -> {
      try (Connection c = SandboxCluster.connect(sandbox.serviceAddress(NS, "pool-pooler-ro"), "app", "app",
          pool.password("pool-app"))) {
        return one(c, "SELECT host(inet_server_addr()) || ' ' || pg_is_in_recovery() || ' ' || count(*) FROM pooled");
      }
    }, v -> v != null);
    String[] parts = server.split(" ");
    assertTrue(standbyIps.contains(parts[0]), server + " is a standby: " + standbyIps);
    assertEquals("true", parts[1], server);
    try (Connection c = SandboxCluster.connect(sandbox.serviceAddress(NS, "pool-pooler-ro"), "app", "app",
        pool.password("pool-app")); Statement st = c.createStatement()) {
      SQLException write = assertThrows(SQLException.class, () -> st.execute("INSERT INTO pooled VALUES (6, 1)"));
      assertTrue(write.getMessage().contains("read-only transaction"), write.getMessage());
      assertEquals("on", one(c, "SHOW default_transaction_read_only"));
    }
    sandbox.editCluster(NS, "pool", c -> {
      c.getSpec().pooler.readOnlyInstances = 0;
      return c;
    });
    Await.until(Duration.ofSeconds(60), "the read-only pooler removed", () -> sandbox.client().apps().deployments()
        .inNamespace(NS).withName("pool-pooler-ro").get() == null
        && sandbox.client().services().inNamespace(NS).withName("pool-pooler-ro").get() == null);
    Set<String> after = new HashSet<>();
    sandbox.client().pods().inNamespace(NS).withLabel("pgcluster.dev/pooler", "pool").list().getItems()
        .forEach(p -> after.add(p.getMetadata().getName()));
    assertEquals(rwPods, after, "the -rw pooler's pods were not rolled");
  }

  private static String pgBin() throws java.io.IOException {
    try (var versions = java.nio.file.Files.list(java.nio.file.Path.of("/usr/lib/postgresql"))) {
      return versions.max(java.util.Comparator.comparing(p -> Integer.parseInt(p.getFileName().toString())))
          .orElseThrow().resolve("bin").toString();
    }
  }

  private static void run(java.util.Map<String, String> env, String... command) throws Exception {
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
    pb.environment().putAll(env);
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    assertTrue(p.waitFor(120, java.util.concurrent.TimeUnit.SECONDS), String.join(" ", command));
    assertEquals(0, p.exitValue(), String.join(" ", command) + ":\n" + out);
  }

  private String metrics() throws Exception {
    var response = java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(
        java.net.URI.create("http://" + sandbox.podIp(Sandbox.OPERATOR_NAMESPACE, sandbox.operatorLeader().orElseThrow())
            + ":8080/metrics")).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
    return response.body();
  }

  private void awaitPoolerReady() throws InterruptedException {
    Await.until(READY, "2 pooler pods ready", () -> sandbox.client().apps().deployments().inNamespace(NS)
        .withName("pool-pooler").get(), (Deployment d) -> d != null && d.getStatus() != null
            && Integer.valueOf(2).equals(d.getStatus().getReadyReplicas()));
    // The pooler's role is created on a writable primary; a login works once it is.
    Await.until(Duration.ofSeconds(60), "a login through the pooler", () -> {
      try (Connection c = viaPooler()) {
        return "1".equals(one(c, "SELECT 1"));
      } catch (SQLException e) {
        return false;
      }
    });
  }

  /** The ready addresses the Service's EndpointSlices list, which the Service proxy forwards to. */
  private List<String> serviceEndpoints(String service) {
    List<String> ips = new ArrayList<>();
    for (var slice : sandbox.client().discovery().v1().endpointSlices().inNamespace(NS)
        .withLabel("kubernetes.io/service-name", service).list().getItems()) {
      for (var endpoint : slice.getEndpoints() == null ? List.<io.fabric8.kubernetes.api.model.discovery.v1.Endpoint>of()
          : slice.getEndpoints()) {
        if (endpoint.getConditions() == null || !Boolean.FALSE.equals(endpoint.getConditions().getReady())) {
          ips.addAll(endpoint.getAddresses());
        }
      }
    }
    return ips;
  }

  private void awaitNotHeld() throws InterruptedException {
    Await.until(Duration.ofSeconds(70), "the pooler released", () -> sandbox.client().apps().deployments()
        .inNamespace(NS).withName("pool-pooler").get(), d -> d.getMetadata().getAnnotations() == null
            || !d.getMetadata().getAnnotations().containsKey("pgcluster.dev/pooler-held"));
  }

  private List<String> missingOn(String pod, Writers writers) throws SQLException {
    Set<String> present = new HashSet<>();
    try (Connection c = pool.toPod(pod)) {
      present.addAll(SandboxCluster.column(c, "SELECT writer || '/' || seq FROM pooled"));
    }
    List<String> missing = new ArrayList<>();
    for (String ack : writers.acked) {
      if (!present.contains(ack)) {
        missing.add(ack);
      }
    }
    return missing;
  }

  /** As an application in transaction mode connects: no server-side prepared statements. */
  Connection viaPooler() throws SQLException {
    Properties props = new Properties();
    props.setProperty("user", "app");
    props.setProperty("password", pool.password("pool-app"));
    props.setProperty("connectTimeout", "5");
    props.setProperty("socketTimeout", "20");
    props.setProperty("prepareThreshold", "0");
    return DriverManager.getConnection("jdbc:postgresql://" + sandbox.serviceAddress(NS, "pool-pooler-rw")
        + ":5432/app", props);
  }

  /** Writers through the pooler, each on one connection (a new one after an error), counting errors. */
  final class Writers implements AutoCloseable {
    final int count;
    final ConcurrentLinkedQueue<String> acked = new ConcurrentLinkedQueue<>();
    final AtomicInteger errors = new AtomicInteger();
    final List<String> firstErrors = java.util.Collections.synchronizedList(new ArrayList<>());
    final AtomicLong longestGapNanos = new AtomicLong();
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final List<Thread> threads = new ArrayList<>();

    Writers(int round, int count) {
      this.count = count;
      for (int w = 0; w < count; w++) {
        int writer = round * 100 + w;
        Thread t = new Thread(() -> write(writer), "pooled-writer-" + writer);
        t.setDaemon(true);
        threads.add(t);
        t.start();
      }
    }

    private void write(int writer) {
      int seq = 0;
      long lastAck = System.nanoTime();
      Connection c = null;
      while (running.get()) {
        try {
          if (c == null) {
            c = viaPooler();
          }
          try (Statement s = c.createStatement()) {
            s.execute("INSERT INTO pooled VALUES (" + writer + ", " + seq + ")");
          }
          long now = System.nanoTime();
          acked.add(writer + "/" + seq);
          longestGapNanos.accumulateAndGet(now - lastAck, Math::max);
          lastAck = now;
          seq++;
        } catch (SQLException e) {
          if (!running.get()) {
            break;
          }
          errors.incrementAndGet();
          if (firstErrors.size() < 10) {
            firstErrors.add(e.getSQLState() + " " + e.getMessage());
          }
          seq++;  // the outcome of that one is unknown: never reuse its key
          try {
            if (c != null) {
              c.close();
            }
          } catch (SQLException ignored) {
            // the connection is being replaced
          }
          c = null;
          sleep(100);
        }
      }
      try {
        if (c != null) {
          c.close();
        }
      } catch (SQLException ignored) {
        // shutting down
      }
    }

    void awaitAcks(int n) throws InterruptedException {
      Await.until(Duration.ofSeconds(90), n + " acknowledged writes through the pooler", () -> acked.size() >= n);
    }

    void stop() throws InterruptedException {
      running.set(false);
      for (Thread t : threads) {
        t.join(30_000);
      }
    }

    @Override
    public void close() throws InterruptedException {
      stop();
    }

    private void sleep(long ms) {
      try {
        Thread.sleep(ms);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
