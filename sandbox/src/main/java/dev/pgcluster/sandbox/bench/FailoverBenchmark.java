package dev.pgcluster.sandbox.bench;

import dev.pgcluster.operator.api.v1alpha1.ClusterPhase;
import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.sandbox.Sandbox;
import io.fabric8.kubernetes.api.model.Secret;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Not a test: RTO by fault kind, and acknowledged writes lost, for asynchronous replication and for
 * synchronous ANY 1 with durability required; the write window of a primary cut off from the API
 * server (its last acknowledged write after the cut: its agent's fence closes it); failovers that no
 * fault called for; then the write gap of a switchover.
 *
 * <p>Two RTOs: the service's (fault -> first write acknowledged on a new connection through -rw; a
 * prober opens one every 100 ms with 1 s timeouts), which is what the operator controls; and one
 * writer's (fault -> its first write acknowledged again), which also holds that writer's own 5 s socket
 * timeout on a connection to a dead node. Three more writers keep the cluster under load. One row per
 * transaction.
 *   bin/benchmark failover [faults per kind and mode] [lease duration seconds] [kinds: crash,silent,api]
 *       [modes: async,sync]
 */
public final class FailoverBenchmark {
  record Mode(String key, String name, String replication) {}

  /** Writers besides the measured one: load. */
  static final int LOAD_WRITERS = 3;

  /** How one fault is made on the current primary; {@code heal} runs once the first write is back. */
  record Kind(String key, String name, Fault fault) {}

  interface Fault {
    Runnable inject(Sandbox sandbox, String primary) throws Exception;
  }

  static final List<Kind> KINDS = List.of(
      new Kind("crash", "crashed PostgreSQL (SIGKILL)", (sandbox, primary) -> {
        sandbox.killContainer("default", primary, "postgres");
        return () -> { };
      }),
      new Kind("silent", "silent node (lost)", (sandbox, primary) -> {
        sandbox.loseNode("default", primary);
        return sandbox::restoreLostNodes;
      }),
      new Kind("api", "primary cut off from the API server", (sandbox, primary) -> {
        var cut = sandbox.partition("default", primary, sandbox.apiServer());
        return () -> sandbox.heal(cut);
      }));

  public static void main(String[] args) throws Exception {
    int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 10;
    int lease = args.length > 1 ? Integer.parseInt(args[1]) : 5;
    List<String> kinds = List.of((args.length > 2 ? args[2] : "crash,silent,api").split(","));
    List<String> modes = List.of((args.length > 3 ? args[3] : "async,sync").split(","));
    List<String> report = new ArrayList<>();
    for (Mode mode : List.of(new Mode("async", "async", "mode: async"),
        new Mode("sync", "sync ANY 1, required", "mode: sync\n    number: 1\n    durability: required"))) {
      if (!modes.contains(mode.key())) {
        continue;
      }
      try (Sandbox sandbox = Sandbox.start()) {
        sandbox.installOperator();
        sandbox.apply("default", """
            apiVersion: pgcluster.dev/v1alpha1
            kind: PgCluster
            metadata:
              name: fo
            spec:
              instances: 3
              storage:
                size: 1Gi
              replication:
                %s
              failover:
                leaseDurationSeconds: %d
            """.formatted(mode.replication(), lease));
        awaitHealed(sandbox, null);
        List<Writer> load = new ArrayList<>();
        try (Writer writer = new Writer(sandbox, 0); Prober prober = new Prober(sandbox)) {
          for (int i = 0; i < LOAD_WRITERS; i++) {
            load.add(new Writer(sandbox, 2 + i));
          }
          int unasked = 0;
          int epoch = cluster(sandbox).getStatus().primaryEpoch;
          for (Kind kind : KINDS) {
            if (!kinds.contains(kind.key())) {
              continue;
            }
            List<Double> service = new ArrayList<>();
            List<Double> rto = new ArrayList<>();
            List<Double> window = new ArrayList<>();
            int failovers = 0;
            int lostBefore = writer.lost(sandbox);
            for (int i = 0; i < rounds; i++) {
              PgCluster before = cluster(sandbox);
              String primary = before.getStatus().currentPrimary;
              // A change of primary since the last round healed: nothing called for it.
              unasked += before.getStatus().primaryEpoch - epoch;
              long fault = System.nanoTime();
              System.out.printf("%s: %s on %s%n", java.time.Instant.now(), kind.name(), primary);
              Runnable heal = kind.fault().inject(sandbox, primary);
              service.add(prober.secondsToWriteAfter(fault));
              rto.add(writer.secondsToWriteAfter(fault));
              window.add(writer.lastAckBeforeFirstErrorAfter(fault));
              heal.run();
              awaitHealed(sandbox, null);
              // Each fault starts with the instances on three nodes (see ChaosE2ETest).
              while (sandbox.spreadInstances("default", "fo", cluster(sandbox).getStatus().currentPrimary) > 0) {
                Thread.sleep(3000);
                awaitHealed(sandbox, null);
              }
              PgCluster after = cluster(sandbox);
              boolean failedOver = !primary.equals(after.getStatus().currentPrimary);
              failovers += failedOver ? 1 : 0;
              // More than one change of primary for one fault: a double failover.
              unasked += Math.max(0, after.getStatus().primaryEpoch - before.getStatus().primaryEpoch - 1);
              epoch = after.getStatus().primaryEpoch;
              System.out.printf("%s, %s: %d/%d, service back after %.2f s, the writer's first write after %.2f s,"
                  + " last write before the outage %.2f s%n", mode.name(), kind.name(), i + 1, rounds, service.get(i),
                  rto.get(i), window.get(i));
            }
            report.add(String.format("%-22s %-38s %2d faults, %2d failovers: service RTO median %.2f / p95 %.2f /"
                + " max %.2f s; writer RTO median %.2f / p95 %.2f s; last write acknowledged after the fault:"
                + " median %.2f / max %.2f s; writes lost %d", mode.name(), kind.name(), rounds, failovers,
                pct(service, 50), pct(service, 95), pct(service, 100), pct(rto, 50), pct(rto, 95), pct(window, 50),
                pct(window, 100), writer.lost(sandbox) - lostBefore));
          }
          report.add(String.format("%-22s failovers no fault called for: %d", mode.name(), unasked));
          if (mode.key().equals("sync")) {
            String from = cluster(sandbox).getStatus().currentPrimary;
            String target = from.equals("fo-1") ? "fo-2" : "fo-1";
            writer.longestGap.set(0);
            sandbox.editCluster("default", "fo", c -> {
              c.getSpec().switchover = new dev.pgcluster.operator.api.v1alpha1.SwitchoverSpec();
              c.getSpec().switchover.target = target;
              c.getSpec().switchover.id = "bench";
              return c;
            });
            awaitHealed(sandbox, from);
            Thread.sleep(1000);
            report.add(String.format("%-22s switchover write gap %.2f s", mode.name(),
                writer.longestGap.get() / 1e9));
          }
          int acknowledged = writer.acknowledged.size() + prober.acknowledged.size();
          int lost = writer.lost(sandbox) + lost(sandbox, prober.acknowledged);
          for (Writer w : load) {
            acknowledged += w.acknowledged.size();
            lost += w.lost(sandbox);
          }
          report.add(String.format("%-22s writes acknowledged %d by %d writers and the prober, lost %d (lease %d s)",
              mode.name(), acknowledged, 1 + LOAD_WRITERS, lost, lease));
        } finally {
          for (Writer w : load) {
            w.close();
          }
          Path logs = Path.of("sandbox/target/bench-logs/failover-" + mode.key()).toAbsolutePath();
          sandbox.saveLogs(logs);
          System.out.println("logs: " + logs);
        }
      }
    }
    System.out.println();
    report.forEach(System.out::println);
  }

  static PgCluster cluster(Sandbox sandbox) {
    return sandbox.client().resources(PgCluster.class).inNamespace("default").withName("fo").get();
  }

  /** Healthy with 3 ready instances and, when given, a primary other than {@code notPrimary}. */
  static void awaitHealed(Sandbox sandbox, String notPrimary) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
    while (System.nanoTime() < deadline) {
      PgCluster c = cluster(sandbox);
      if (c != null && c.getStatus() != null && c.getStatus().phase == ClusterPhase.Healthy
          && Integer.valueOf(3).equals(c.getStatus().readyInstances)
          && (notPrimary == null || !notPrimary.equals(c.getStatus().currentPrimary))) {
        try (Connection p = connect(sandbox.podIp("default", c.getStatus().currentPrimary), "postgres",
            password(sandbox, "fo-superuser"));
            Statement s = p.createStatement();
            ResultSet rs = s.executeQuery("SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")) {
          rs.next();
          if (rs.getInt(1) == 2) {
            return;
          }
        } catch (Exception e) {
          // Not yet.
        }
      }
      Thread.sleep(200);
    }
    throw new IllegalStateException("not healed after 3 minutes");
  }

  static double pct(List<Double> values, int p) {
    List<Double> sorted = values.stream().sorted().toList();
    int index = (int) Math.ceil(p / 100.0 * sorted.size()) - 1;
    return sorted.get(Math.max(0, Math.min(sorted.size() - 1, index)));
  }

  static String password(Sandbox sandbox, String secret) {
    Secret s = sandbox.client().secrets().inNamespace("default").withName(secret).get();
    return new String(Base64.getDecoder().decode(s.getData().get("password")), StandardCharsets.UTF_8);
  }

  static Connection connect(String host, String user, String password) throws Exception {
    return connect(host, user, password, 5);
  }

  static Connection connect(String host, String user, String password, int socketTimeout) throws Exception {
    Properties props = new Properties();
    props.setProperty("user", user);
    props.setProperty("password", password);
    props.setProperty("connectTimeout", Integer.toString(Math.min(2, socketTimeout)));
    props.setProperty("loginTimeout", Integer.toString(Math.min(2, socketTimeout)));
    props.setProperty("socketTimeout", Integer.toString(socketTimeout));
    return DriverManager.getConnection("jdbc:postgresql://" + host + ":5432/app", props);
  }

  /** Inserts one row per transaction through -rw, recording what was acknowledged. */
  static final class Writer implements AutoCloseable {
    final Set<Integer> acknowledged = new ConcurrentSkipListSet<>();
    final AtomicLong lastAck = new AtomicLong();
    final AtomicLong lastError = new AtomicLong();
    final AtomicLong longestGap = new AtomicLong();
    /** When each write was acknowledged, and when each one failed (System.nanoTime()). */
    final java.util.concurrent.ConcurrentSkipListSet<Long> acks = new java.util.concurrent.ConcurrentSkipListSet<>();
    final java.util.concurrent.ConcurrentSkipListSet<Long> errors = new java.util.concurrent.ConcurrentSkipListSet<>();
    private final Thread thread;
    private volatile boolean running = true;

    /** @param number ids of writer n are n x 100,000,000 + 1, 2, ... (1 is the prober's) */
    Writer(Sandbox sandbox, int number) throws Exception {
      String host = sandbox.serviceAddress("default", "fo-rw");
      String password = password(sandbox, "fo-app");
      try (Connection c = connect(host, "app", password); Statement s = c.createStatement()) {
        s.execute("CREATE TABLE IF NOT EXISTS bench (id int primary key)");
      }
      thread = new Thread(() -> {
        int next = number * 100_000_000;
        Connection c = null;
        while (running) {
          try {
            if (c == null) {
              c = connect(host, "app", password);
            }
            int id = ++next;
            try (Statement s = c.createStatement()) {
              s.execute("INSERT INTO bench VALUES (" + id + ")");
            }
            acknowledged.add(id);
            long now = System.nanoTime();
            acks.add(now);
            long previous = lastAck.getAndSet(now);
            if (previous > 0) {
              longestGap.accumulateAndGet(now - previous, Math::max);
            }
          } catch (Exception e) {
            long failed = System.nanoTime();
            lastError.set(failed);
            errors.add(failed);
            try {
              if (c != null) {
                c.close();
              }
            } catch (Exception ignored) {
              // Broken already.
            }
            c = null;
          }
        }
      }, "bench writer " + number);
      thread.start();
    }

    /**
     * Seconds from the fault to the last write acknowledged before the first failure after it: how long
     * the faulty primary kept taking writes (0 when the first write after the fault failed).
     */
    double lastAckBeforeFirstErrorAfter(long fault) {
      Long firstError = errors.ceiling(fault);
      if (firstError == null) {
        throw new IllegalStateException("no write failed after the fault");
      }
      Long lastAck = acks.lower(firstError);
      return lastAck == null || lastAck < fault ? 0 : (lastAck - fault) / 1e9;
    }

    /**
     * Seconds from the fault to the first acknowledged write after the outage it caused: after a failed
     * write, and followed by a second without a failure (so that a write that slipped in between two
     * failures does not count as the end of the outage).
     */
    double secondsToWriteAfter(long fault) throws InterruptedException {
      long deadline = fault + TimeUnit.SECONDS.toNanos(120);
      long quiet = TimeUnit.SECONDS.toNanos(1);
      while (System.nanoTime() < deadline) {
        Long firstError = errors.ceiling(fault);
        if (firstError != null) {
          for (Long ack = acks.ceiling(firstError); ack != null && ack + quiet < System.nanoTime();
              ack = acks.higher(ack)) {
            Long nextError = errors.ceiling(ack);
            if (nextError == null || nextError > ack + quiet) {
              return (ack - fault) / 1e9;
            }
          }
        }
        Thread.sleep(50);
      }
      throw new IllegalStateException("no write within 120 s of the fault");
    }

    int lost(Sandbox sandbox) throws Exception {
      return FailoverBenchmark.lost(sandbox, acknowledged);
    }

    @Override
    public void close() throws InterruptedException {
      running = false;
      thread.join(10_000);
    }
  }

  /** How many of {@code acknowledged} are not on the current primary. */
  static int lost(Sandbox sandbox, Set<Integer> acknowledged) throws Exception {
    List<Integer> acked = new ArrayList<>(acknowledged);
    Set<Integer> present = new HashSet<>();
    try (Connection c = connect(sandbox.podIp("default", cluster(sandbox).getStatus().currentPrimary), "postgres",
        password(sandbox, "fo-superuser")); Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT id FROM bench")) {
      while (rs.next()) {
        present.add(rs.getInt(1));
      }
    }
    return (int) acked.stream().filter(id -> !present.contains(id)).count();
  }

  /**
   * Every 100 ms, whatever the earlier attempts are doing, a new connection through -rw that writes one
   * row (1 s timeouts): when the service takes writes again, at a 100 ms grain, not at the pace of an
   * attempt that waits for its timeout on a dead endpoint.
   */
  static final class Prober implements AutoCloseable {
    record Attempt(long start, long end, boolean ok) {}

    final Set<Integer> acknowledged = new ConcurrentSkipListSet<>();
    final java.util.concurrent.ConcurrentLinkedQueue<Attempt> attempts = new java.util.concurrent.ConcurrentLinkedQueue<>();
    private final java.util.concurrent.ScheduledExecutorService schedule =
        java.util.concurrent.Executors.newSingleThreadScheduledExecutor();
    private final java.util.concurrent.ExecutorService workers = java.util.concurrent.Executors.newCachedThreadPool();
    private final java.util.concurrent.atomic.AtomicInteger ids = new java.util.concurrent.atomic.AtomicInteger(100_000_000);

    Prober(Sandbox sandbox) {
      String host = sandbox.serviceAddress("default", "fo-rw");
      String password = password(sandbox, "fo-app");
      schedule.scheduleAtFixedRate(() -> workers.submit(() -> {
        long start = System.nanoTime();
        int id = ids.incrementAndGet();
        boolean ok;
        try (Connection c = connect(host, "app", password, 1); Statement s = c.createStatement()) {
          s.execute("INSERT INTO bench VALUES (" + id + ")");
          acknowledged.add(id);
          ok = true;
        } catch (Exception e) {
          ok = false;
        }
        attempts.add(new Attempt(start, System.nanoTime(), ok));
      }), 0, 100, TimeUnit.MILLISECONDS);
    }

    /**
     * Seconds from the fault to the end of the first successful attempt that started after one failed
     * and after which every attempt started within a second succeeded.
     */
    double secondsToWriteAfter(long fault) throws InterruptedException {
      long deadline = fault + TimeUnit.SECONDS.toNanos(120);
      long quiet = TimeUnit.SECONDS.toNanos(1);
      while (System.nanoTime() < deadline) {
        List<Attempt> sorted = attempts.stream().filter(a -> a.start() >= fault)
            .sorted(java.util.Comparator.comparingLong(Attempt::start)).toList();
        long firstFailed = sorted.stream().filter(a -> !a.ok()).mapToLong(Attempt::start).min().orElse(Long.MAX_VALUE);
        for (Attempt a : sorted) {
          if (a.ok() && a.start() > firstFailed && a.start() + 2 * quiet < System.nanoTime()
              && sorted.stream().noneMatch(b -> !b.ok() && b.start() >= a.start() && b.start() <= a.start() + quiet)) {
            return (a.end() - fault) / 1e9;
          }
        }
        Thread.sleep(100);
      }
      throw new IllegalStateException("no write on a new connection within 120 s of the fault");
    }

    @Override
    public void close() throws InterruptedException {
      schedule.shutdownNow();
      workers.shutdown();
      workers.awaitTermination(10, TimeUnit.SECONDS);
    }
  }

  private FailoverBenchmark() {}
}
