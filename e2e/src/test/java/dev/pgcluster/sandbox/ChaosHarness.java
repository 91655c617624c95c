package dev.pgcluster.sandbox;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A writer that records every acknowledged commit (through -rw, reconnecting as needed) and a checker
 * that polls every instance's own address for writability, counting moments with two writable
 * primaries. Used by the chaos tests and the failover benchmark.
 */
final class ChaosHarness implements AutoCloseable {
  final SandboxCluster cluster;
  final Set<Integer> acknowledged = new ConcurrentSkipListSet<>();
  final AtomicInteger splitBrainMoments = new AtomicInteger();
  final AtomicLong lastAckNanos = new AtomicLong();
  final AtomicLong lastErrorNanos = new AtomicLong();
  /** The longest time between two acknowledged writes since the last {@link #resetGap()}. */
  final AtomicLong longestGapNanos = new AtomicLong();

  void resetGap() {
    longestGapNanos.set(0);
  }
  /** Every address an instance of the cluster had: a former primary is checked after it moved. */
  final Map<String, String> addresses = new ConcurrentHashMap<>();
  private final AtomicInteger nextId = new AtomicInteger();
  private volatile boolean running = true;
  private final ExecutorService threads = Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "chaos");
    t.setDaemon(true);
    return t;
  });
  private final List<Future<?>> loops = new ArrayList<>();

  private final String appPassword;
  private final String superuserPassword;

  ChaosHarness(SandboxCluster cluster) throws SQLException {
    this.cluster = cluster;
    this.appPassword = cluster.password(cluster.names.appSecret());
    this.superuserPassword = cluster.password(cluster.names.superuserSecret());
    String primary = cluster.get().getStatus().currentPrimary;
    try (Connection rw = cluster.viaService(cluster.names.readWriteService()); Statement s = rw.createStatement()) {
      s.execute("CREATE TABLE IF NOT EXISTS chaos (id int primary key, at timestamptz default clock_timestamp())");
    }
    // On every standby before the first fault: an asynchronous standby promoted before it replayed the
    // CREATE TABLE would have no table, and every write after the failover would fail (a CI run saw it).
    for (var instance : cluster.get().getStatus().instances) {
      if (instance.name.equals(primary)) {
        continue;
      }
      try {
        Await.until(java.time.Duration.ofSeconds(60), "the chaos table on " + instance.name, () -> {
          try (Connection c = cluster.toPod(instance.name)) {
            return SandboxCluster.one(c, "SELECT to_regclass('chaos') IS NOT NULL");
          }
        }, "t"::equals);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new SQLException("interrupted while waiting for the standbys", e);
      }
    }
  }

  void start() {
    loops.add(threads.submit(this::writeLoop));
    loops.add(threads.submit(this::checkLoop));
  }

  /**
   * Seconds from the fault to the first write acknowledged after the outage it caused: the writer must
   * first fail after the fault (within 10 s, else the fault went unnoticed by clients: 0), then succeed.
   */
  double secondsToFirstAckAfter(long faultNanos, int timeoutSeconds) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds);
    long noticeBy = faultNanos + TimeUnit.SECONDS.toNanos(10);
    while (System.nanoTime() < deadline) {
      long error = lastErrorNanos.get();
      long ack = lastAckNanos.get();
      if (error > faultNanos && ack > error) {
        return (ack - faultNanos) / 1e9;
      }
      if (error <= faultNanos && System.nanoTime() > noticeBy && ack > faultNanos) {
        return 0;
      }
      Thread.sleep(20);
    }
    throw new AssertionError("no write acknowledged through -rw within " + timeoutSeconds + " s of the fault");
  }

  /** Acknowledged ids missing on the current primary. */
  List<Integer> lostWrites() throws SQLException {
    // Snapshot first: a commit acknowledged after the SELECT below may not have been visible to it
    // (a transaction becomes visible only once its synchronous replication wait is over).
    List<Integer> ackedBeforeRead = new ArrayList<>(acknowledged);
    String primary = cluster.get().getStatus().currentPrimary;
    Set<Integer> present = new java.util.HashSet<>();
    try (Connection c = cluster.toPod(primary); Statement s = c.createStatement();
        var rs = s.executeQuery("SELECT id FROM chaos")) {
      while (rs.next()) {
        present.add(rs.getInt(1));
      }
    }
    List<Integer> lost = new ArrayList<>();
    for (Integer id : ackedBeforeRead) {
      if (!present.contains(id)) {
        lost.add(id);
      }
    }
    return lost;
  }

  private void writeLoop() {
    Connection rw = null;
    while (running) {
      try {
        if (rw == null) {
          rw = SandboxCluster.connect(cluster.sandbox.serviceAddress(cluster.namespace, cluster.names.readWriteService()),
              "app", "app", appPassword, 2, 5);
        }
        int id = nextId.incrementAndGet();
        try (Statement s = rw.createStatement()) {
          s.execute("INSERT INTO chaos (id) VALUES (" + id + ")");
        }
        acknowledged.add(id);
        long now = System.nanoTime();
        long previous = lastAckNanos.getAndSet(now);
        if (previous > 0) {
          longestGapNanos.accumulateAndGet(now - previous, Math::max);
        }
      } catch (Exception e) {
        lastErrorNanos.set(System.nanoTime());
        closeQuietly(rw);
        rw = null;
        sleep(50);
      }
    }
    closeQuietly(rw);
  }

  private void checkLoop() {
    while (running) {
      try {
        cluster.sandbox.client().pods().inNamespace(cluster.namespace).list().getItems().forEach(p -> {
          if (p.getStatus() != null && p.getStatus().getPodIP() != null
              && p.getMetadata().getName().startsWith(cluster.name + "-")) {
            addresses.put(p.getStatus().getPodIP(), p.getMetadata().getName());
          }
        });
        Map<String, Future<Boolean>> probes = new java.util.LinkedHashMap<>();
        for (String ip : addresses.keySet()) {
          probes.put(ip, threads.submit(() -> writable(ip)));
        }
        List<String> writable = new ArrayList<>();
        for (Map.Entry<String, Future<Boolean>> f : probes.entrySet()) {
          if (f.getValue().get(5, TimeUnit.SECONDS)) {
            writable.add(f.getKey());
          }
        }
        if (writable.size() > 1) {
          splitBrainMoments.incrementAndGet();
          recordSplitBrain(writable);
        }
      } catch (Exception e) {
        // The API or an instance hiccuped: look again.
      }
      sleep(200);
    }
  }

  /** The first moment with two writable primaries, and the pods seen writable then. */
  private volatile String splitBrainMoment = "";
  private volatile List<String> splitBrainPods = List.of();

  private void recordSplitBrain(List<String> ips) {
    if (!splitBrainMoment.isEmpty()) {
      return;
    }
    StringBuilder moment = new StringBuilder(java.time.Instant.now() + " writable: ");
    ips.forEach(ip -> moment.append(addresses.get(ip)).append(" (").append(ip).append(") "));
    try {
      var lease = cluster.sandbox.client().leases().inNamespace(cluster.namespace).withName(cluster.name + "-primary")
          .get();
      moment.append("; Lease holder ").append(lease == null ? "none" : lease.getSpec().getHolderIdentity());
    } catch (RuntimeException e) {
      moment.append("; Lease not readable");
    }
    splitBrainPods = ips.stream().map(addresses::get).distinct().toList();
    splitBrainMoment = moment.toString();
    System.out.println("TWO WRITABLE PRIMARIES at " + splitBrainMoment);
  }

  /**
   * For an assertion message: the first moment with two writable primaries and what the agents of the
   * pods seen writable then logged about their grant (read now, after the fact). Empty when none.
   */
  String splitBrainReport() {
    if (splitBrainMoment.isEmpty()) {
      return "";
    }
    StringBuilder report = new StringBuilder(" (first at " + splitBrainMoment + ")");
    for (String pod : splitBrainPods) {
      report.append("\n  ").append(pod).append(" agent:");
      List<String> lines = cluster.sandbox.containerLogTail(pod, "agent", 400).stream()
          .filter(l -> l.contains("FENCED") || l.contains("fence") || l.contains("Lease") || l.contains("renew"))
          .toList();
      lines.subList(Math.max(0, lines.size() - 8), lines.size())
          .forEach(l -> report.append("\n    ").append(l.length() > 300 ? l.substring(0, 300) : l));
    }
    return report.toString();
  }

  private boolean writable(String ip) {
    try (Connection c = SandboxCluster.connect(ip, "app", "postgres", superuserPassword, 1, 1)) {
      // Writable as a client finds it: a primary fenced by its agent is read-only for new sessions.
      return "t".equals(SandboxCluster.one(c, "SELECT NOT pg_is_in_recovery()"
          + " AND current_setting('default_transaction_read_only') = 'off'"));
    } catch (SQLException e) {
      return false;
    }
  }

  @Override
  public void close() throws InterruptedException {
    running = false;
    threads.shutdownNow();
    threads.awaitTermination(10, TimeUnit.SECONDS);
  }

  private static void closeQuietly(Connection c) {
    try {
      if (c != null) {
        c.close();
      }
    } catch (SQLException e) {
      // Already broken.
    }
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
