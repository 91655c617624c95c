package dev.pgcluster.sandbox.scenario;

import static dev.pgcluster.sandbox.scenario.ScenarioContext.NAMESPACE;
import static dev.pgcluster.sandbox.scenario.ScenarioContext.execute;
import static dev.pgcluster.sandbox.scenario.ScenarioContext.one;

import dev.pgcluster.operator.api.v1alpha1.InstanceRole;
import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import io.fabric8.kubernetes.api.model.Event;
import java.sql.Connection;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Seed 003: failure detection, leader election through a Kubernetes Lease, promotion. The primary's
 * node hangs (every process of the pod frozen), then is lost; the operator's own events tell each step
 * with its time, and a client writing through -rw measures the gap.
 */
final class FailureDetection implements Scenario {
  @Override
  public String name() {
    return "failure-detection";
  }

  @Override
  public String title() {
    return "seed 003: a hung, then lost, primary: detection, election (Lease), fencing, promotion, rejoin";
  }

  @Override
  public void run(ScenarioContext ctx) throws Exception {
    Narrator n = ctx.narrator();
    ctx.create("""
        apiVersion: pgcluster.dev/v1alpha1
        kind: PgCluster
        metadata:
          name: detect
        spec:
          instances: 3
          storage:
            size: 1Gi
        """, 3);
    PgCluster before = ctx.cluster("detect");
    String primary = before.getStatus().currentPrimary;
    int epoch = before.getStatus().primaryEpoch;
    try (Connection rw = ctx.readWrite("detect")) {
      execute(rw, "CREATE TABLE beats (id serial PRIMARY KEY, at timestamptz DEFAULT now())");
    }
    // A client that opens a connection through -rw for each write, as an application after an error.
    AtomicBoolean stop = new AtomicBoolean();
    AtomicLong lastWrite = new AtomicLong(System.nanoTime());
    AtomicLong longestGap = new AtomicLong();
    Thread writer = new Thread(() -> {
      while (!stop.get()) {
        try (Connection c = ctx.readWrite("detect")) {
          execute(c, "INSERT INTO beats DEFAULT VALUES");
          long now = System.nanoTime();
          longestGap.accumulateAndGet(now - lastWrite.getAndSet(now), Math::max);
        } catch (Exception e) {
          // counted in the gap
        }
        try {
          Thread.sleep(100);
        } catch (InterruptedException e) {
          return;
        }
      }
    }, "writer");
    writer.start();
    Thread.sleep(2000);
    Instant fault = Instant.now();
    n.say("the primary " + primary + " hangs: every process of its pod stopped (SIGSTOP), its TCP ports open but silent");
    ctx.sandbox().freezeContainer(NAMESPACE, primary, "postgres");
    ctx.sandbox().freezeContainer(NAMESPACE, primary, "agent");
    var promoted = n.await("a new primary", Duration.ofSeconds(60), () -> ctx.cluster("detect"),
        c -> c.getStatus().primaryEpoch > epoch && c.getStatus().lastPrimaryChange != null
            && c.getStatus().lastPrimaryChange.promotedAt != null);
    String next = promoted.held() ? promoted.value().getStatus().currentPrimary : null;
    n.check("a standby is promoted", "another instance, a new epoch", next == null ? "none"
        : next + " (epoch " + promoted.value().getStatus().primaryEpoch + ")", next != null && !next.equals(primary));
    var writes = n.await("writes through -rw again", Duration.ofSeconds(30),
        () -> (System.nanoTime() - lastWrite.get()) < 500_000_000L, Boolean.TRUE::equals);
    n.check("clients write again through the same Service", "a write acknowledged after the fault",
        writes.held() ? "yes" : "no", writes.held());

    n.say("then " + primary + "'s node is lost for good (its processes killed) and comes back later, as a rebooted node");
    ctx.sandbox().loseNode(NAMESPACE, primary);
    ctx.sandbox().restoreLostNodes();
    var rejoined = n.await(primary + " back as a standby", Duration.ofSeconds(150), () -> ctx.cluster("detect"),
        c -> c.getStatus().instances.stream().anyMatch(i -> primary.equals(i.name) && i.role == InstanceRole.REPLICA
            && Boolean.TRUE.equals(i.ready)));
    n.check("the former primary rejoins as a standby", "replica, ready", rejoined.held() ? "replica, ready" : "not yet",
        rejoined.held());
    stop.set(true);
    writer.join(10_000);
    n.check("the longest time without a write", "under 30 s", String.format(Locale.ROOT, "%.1f s",
        longestGap.get() / 1e9), longestGap.get() < 30_000_000_000L);
    try (Connection c = ctx.readWrite("detect")) {
      n.say("rows written: " + one(c, "SELECT count(*) FROM beats"));
    }

    n.say("what the operator said, from its events (seconds after the fault):");
    // The rejoin's report is read by the reconcile after the one that saw the instance ready: up to 30 s.
    List<Event> events = eventsSince(ctx, fault);
    for (long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos(); System.nanoTime() < deadline
        && events.stream().noneMatch(e -> List.of("FormerPrimaryRewound", "TransactionsDiscarded").contains(e.getReason()));
        events = eventsSince(ctx, fault)) {
      Thread.sleep(500);
    }
    for (Event e : events) {
      n.say(String.format(Locale.ROOT, "    +%5.1f s  %-8s %-22s %s", Duration.between(fault, time(e)).toMillis() / 1000.0,
          e.getType(), e.getReason(), e.getMessage()));
    }
    List<String> reasons = events.stream().map(Event::getReason).toList();
    // Each step, from the operator's own events: probes failing (PrimaryUnavailable), the Lease moved
    // (FailoverStarted), the former primary fenced, the standby promoted, -rw switched to it.
    for (String step : List.of("PrimaryUnavailable", "FailoverStarted", "Fenced", "Promoted", "ServicesSwitched")) {
      n.check("the event " + step, "recorded", reasons.contains(step) ? "recorded" : "missing", reasons.contains(step));
    }
    // The rejoin says what pg_rewind discarded: nothing (FormerPrimaryRewound), or the asynchronous
    // commits the standbys had not received when the primary hung (TransactionsDiscarded, with the count).
    boolean rewound = reasons.contains("FormerPrimaryRewound") || reasons.contains("TransactionsDiscarded");
    n.check("the rejoin's realised loss reported", "FormerPrimaryRewound or TransactionsDiscarded",
        rewound ? "recorded" : "missing", rewound);
  }

  private static List<Event> eventsSince(ScenarioContext ctx, Instant fault) {
    return ctx.sandbox().client().v1().events().inNamespace(NAMESPACE).list().getItems().stream()
        .filter(e -> e.getInvolvedObject() != null && "detect".equals(e.getInvolvedObject().getName()))
        .filter(e -> time(e) != null && !time(e).isBefore(fault.minusSeconds(1)))
        .sorted(Comparator.comparing(FailureDetection::time)).toList();
  }

  private static Instant time(Event e) {
    String t = e.getLastTimestamp() != null ? e.getLastTimestamp() : e.getEventTime() != null
        ? e.getEventTime().getTime() : e.getFirstTimestamp();
    try {
      return t == null ? null : Instant.parse(Objects.requireNonNull(t));
    } catch (RuntimeException ex) {
      return null;
    }
  }
}
