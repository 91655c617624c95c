package dev.pgcluster.sandbox.bench;

import dev.pgcluster.operator.api.v1alpha1.ClusterPhase;
import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.sandbox.Sandbox;
import io.fabric8.kubernetes.api.model.Secret;
import java.nio.charset.StandardCharsets;
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
 * Not a test: RTO (fault -> first write acknowledged through -rw) by fault kind, and acknowledged
 * writes lost, for asynchronous replication and for synchronous ANY 1 with durability required; the
 * write window of a primary cut off from the API server (its last acknowledged write after the cut:
 * its agent's fence closes it); then the write gap of a switchover. One writer, one row per transaction.
 *   bin/benchmark failover [faults per kind and mode] [lease duration seconds]
 */
public final class FailoverBenchmark {
  record Mode(String name, String replication) {}

  /** How one fault is made on the current primary; {@code heal} runs once the first write is back. */
  record Kind(String name, Fault fault) {}

  interface Fault {
    Runnable inject(Sandbox sandbox, String primary) throws Exception;
  }

  static final List<Kind> KINDS = List.of(
      new Kind("crashed PostgreSQL (SIGKILL)", (sandbox, primary) -> {
        sandbox.killContainer("default", primary, "postgres");
        return () -> { };
      }),
      new Kind("silent node (lost)", (sandbox, primary) -> {
        sandbox.loseNode("default", primary);
        return sandbox::restoreLostNodes;
      }),
      new Kind("primary cut off from the API server", (sandbox, primary) -> {
        var cut = sandbox.partition("default", primary, sandbox.apiServer());
        return () -> sandbox.heal(cut);
      }));

  public static void main(String[] args) throws Exception {
    int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 10;
    int lease = args.length > 1 ? Integer.parseInt(args[1]) : 5;
    List<String> report = new ArrayList<>();
    for (Mode mode : List.of(new Mode("async", "mode: async"),
        new Mode("sync ANY 1, required", "mode: sync\n    number: 1\n    durability: required"))) {
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
        try (Writer writer = new Writer(sandbox)) {
          for (Kind kind : KINDS) {
            List<Double> rto = new ArrayList<>();
            List<Double> window = new ArrayList<>();
            int failovers = 0;
            int lostBefore = writer.lost(sandbox);
            for (int i = 0; i < rounds; i++) {
              String primary = cluster(sandbox).getStatus().currentPrimary;
              long fault = System.nanoTime();
              Runnable heal = kind.fault().inject(sandbox, primary);
              rto.add(writer.secondsToWriteAfter(fault));
              window.add(writer.lastAckBeforeFirstErrorAfter(fault));
              heal.run();
              awaitHealed(sandbox, null);
              // Each fault starts with the instances on three nodes (see ChaosE2ETest).
              while (sandbox.spreadInstances("default", "fo", cluster(sandbox).getStatus().currentPrimary) > 0) {
                Thread.sleep(3000);
                awaitHealed(sandbox, null);
              }
              failovers += primary.equals(cluster(sandbox).getStatus().currentPrimary) ? 0 : 1;
              System.out.printf("%s, %s: %d/%d, first write after %.2f s, last write before the outage %.2f s%n",
                  mode.name(), kind.name(), i + 1, rounds, rto.get(i), window.get(i));
            }
            report.add(String.format("%-22s %-38s %2d faults, %2d failovers: RTO median %.2f / p95 %.2f / max %.2f s;"
                + " last write acknowledged after the fault: median %.2f / max %.2f s; writes lost %d", mode.name(),
                kind.name(), rounds, failovers, pct(rto, 50), pct(rto, 95), pct(rto, 100), pct(window, 50),
                pct(window, 100), writer.lost(sandbox) - lostBefore));
          }
          if (mode.name().startsWith("sync")) {
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
          report.add(String.format("%-22s writes acknowledged %d (lease %d s)", mode.name(), writer.acknowledged.size(),
              lease));
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
    Properties props = new Properties();
    props.setProperty("user", user);
    props.setProperty("password", password);
    props.setProperty("connectTimeout", "2");
    props.setProperty("socketTimeout", "5");
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

    Writer(Sandbox sandbox) throws Exception {
      String host = sandbox.serviceAddress("default", "fo-rw");
      String password = password(sandbox, "fo-app");
      try (Connection c = connect(host, "app", password); Statement s = c.createStatement()) {
        s.execute("CREATE TABLE IF NOT EXISTS bench (id int primary key)");
      }
      thread = new Thread(() -> {
        int next = 0;
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
      }, "bench writer");
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

    double secondsToWriteAfter(long fault) throws InterruptedException {
      long deadline = fault + TimeUnit.SECONDS.toNanos(120);
      while (System.nanoTime() < deadline) {
        if (lastError.get() > fault && lastAck.get() > lastError.get()) {
          return (lastAck.get() - fault) / 1e9;
        }
        Thread.sleep(10);
      }
      throw new IllegalStateException("no write within 120 s of the fault");
    }

    int lost(Sandbox sandbox) throws Exception {
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

    @Override
    public void close() throws InterruptedException {
      running = false;
      thread.join(10_000);
    }
  }

  private FailoverBenchmark() {}
}
