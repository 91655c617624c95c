package dev.pgcluster.sandbox.scenario;

import static dev.pgcluster.sandbox.scenario.ScenarioContext.NAMESPACE;
import static dev.pgcluster.sandbox.scenario.ScenarioContext.execute;

import dev.pgcluster.operator.api.v1alpha1.ClusterPhase;
import dev.pgcluster.operator.api.v1alpha1.InstanceStatus;
import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.operator.api.v1alpha1.SwitchoverSpec;
import dev.pgcluster.operator.render.Labels;
import dev.pgcluster.sandbox.KubeTools;
import dev.pgcluster.sandbox.controlplane.ControlPlaneBuild;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Seeds 001 (module 4) and 002: changes of primary made by a person. A switchover by editing the spec
 * under a writer, its write gap measured; then, with automated failover off, the primary's node is lost:
 * the operator holds and says why, and {@code kubectl pgc promote} of the synchronous standby brings
 * writes back, nothing acknowledged lost. Last, fencing: a fenced standby leaves -ro, a fenced
 * primary takes no writes, and unfencing brings both back.
 */
final class ManualFailover implements Scenario {
  private static final String NAME = "manual";

  @Override
  public String name() {
    return "manual-failover";
  }

  @Override
  public String title() {
    return "seeds 001, 002: a switchover by editing the spec, a forced promotion with kubectl pgc after the primary"
        + " is lost (failover off), fencing";
  }

  @Override
  public void run(ScenarioContext ctx) throws Exception {
    ctx.create("""
        apiVersion: pgcluster.dev/v1alpha1
        kind: PgCluster
        metadata:
          name: manual
        spec:
          instances: 3
          storage:
            size: 1Gi
          replication:
            mode: sync
            method: first
            number: 1
            durability: required
          failover:
            enabled: false
        """, 3);
    try (Connection rw = ctx.readWrite(NAME)) {
      execute(rw, "CREATE TABLE orders (id int PRIMARY KEY, at timestamptz DEFAULT clock_timestamp())");
    }
    Writer writer = new Writer(ctx);
    writer.start();
    try {
      switchover(ctx, writer);
      promoteByHand(ctx, writer);
    } finally {
      writer.stop();
    }
    fencing(ctx);
  }

  /** spec.switchover edited (as a Git change would), under a writer: the longest write gap, nothing lost. */
  private static void switchover(ScenarioContext ctx, Writer writer) throws Exception {
    Narrator n = ctx.narrator();
    PgCluster before = ctx.cluster(NAME);
    String from = before.getStatus().currentPrimary;
    String to = standbys(before).get(0);
    n.await("a writer committing through -rw", Duration.ofSeconds(30), writer::acknowledged, a -> a >= 20);
    n.say("edit spec.switchover: {target: " + to + ", id: move-1} (a writer commits one row every 20 ms)");
    long start = System.nanoTime();
    ctx.edit(NAME, c -> {
      c.getSpec().switchover = new SwitchoverSpec();
      c.getSpec().switchover.target = to;
      c.getSpec().switchover.id = "move-1";
      return c;
    });
    var done = n.await(to + " is the primary", Duration.ofSeconds(90), () -> ctx.cluster(NAME),
        c -> to.equals(c.getStatus().currentPrimary) && c.getStatus().phase == ClusterPhase.Healthy);
    n.await("writes acknowledged by " + to, Duration.ofSeconds(30), () -> writer.lastAckAfter(start), t -> t > 0);
    double gap = writer.longestGapAfter(start);
    n.say(String.format(Locale.ROOT, "switchover %s -> %s: the longest write gap was %.2f s", from, to, gap));
    n.check("the switchover was done", to + " primary", done.held() ? to + " primary" : "not done", done.held());
    List<Integer> lost = writer.lost(ctx, to);
    n.check("acknowledged writes lost by the switchover", "none", lost.size() + " lost", lost.isEmpty());
  }

  /**
   * The primary's node is lost with automated failover off: the operator holds and says why; a person
   * promotes the synchronous standby with kubectl pgc promote, which prints the risks.
   */
  private static void promoteByHand(ScenarioContext ctx, Writer writer) throws Exception {
    Narrator n = ctx.narrator();
    PgCluster before = ctx.cluster(NAME);
    String primary = before.getStatus().currentPrimary;
    String sync = before.getStatus().instances.stream().filter(i -> "sync".equals(i.syncState)).map(i -> i.name)
        .findFirst().orElseThrow(() -> new IllegalStateException("no synchronous standby in the status"));
    n.say(primary + "'s node is lost; " + sync + " is its synchronous standby (FIRST 1, durability required)");
    long lostAt = System.nanoTime();
    ctx.sandbox().loseNode(NAMESPACE, primary);
    var held = n.await("the operator to report the primary down and hold (spec.failover.enabled: false)",
        Duration.ofSeconds(60), () -> ctx.condition(NAME, "Ready"), c -> c.contains("automated failover is disabled"));
    n.check("the operator does not fail over by itself", "Ready=False, failover disabled", held.value(), held.held());

    KubeTools.Result promote = pgc(ctx, "promote", NAME, sync, "--yes");
    n.check("kubectl pgc promote", "exit 0", "exit " + promote.exit(), promote.exit() == 0);
    n.check("the risks were printed before the promotion", "a risk list", promote.output().contains("Risks:")
        ? "printed" : "none printed", promote.output().contains("Risks:"));
    var writes = n.await("writes acknowledged by " + sync, Duration.ofSeconds(60), () -> writer.lastAckAfter(lostAt),
        t -> t > 0);
    n.say(writes.held() ? String.format(Locale.ROOT, "writes were back %.1f s after the node was lost (here the"
        + " promotion came as soon as the status showed the primary down: no person's reaction time)",
        (writes.value() - lostAt) / 1e9) : "writes did not come back");
    writer.stop();
    List<Integer> lost = writer.lost(ctx, sync);
    n.check("acknowledged writes lost by the promotion of the synchronous standby", "none", lost.size() + " lost of "
        + writer.acknowledged(), lost.isEmpty() && writes.held());
    n.say(primary + "'s node comes back: it is fenced, rewound and rejoins as a standby");
    ctx.sandbox().restoreLostNodes();
    var rejoined = n.await(primary + " rejoins", Duration.ofSeconds(150), () -> ctx.cluster(NAME),
        c -> c.getStatus().phase == ClusterPhase.Healthy && c.getStatus().lastPrimaryChange != null
            && c.getStatus().lastPrimaryChange.rewind != null);
    var rewind = rejoined.held() ? rejoined.value().getStatus().lastPrimaryChange.rewind : null;
    n.say("its rewind: " + (rewind == null ? "not reported" : rewind.describe())
        + " (commits it wrote but never got acknowledged, if any)");
    n.check("the former primary rejoined", "Healthy, rewind reported", rejoined.held() ? "yes" : "no", rejoined.held());
  }

  /** kubectl pgc fence / unfence on a standby and on the primary. */
  private static void fencing(ScenarioContext ctx) throws Exception {
    Narrator n = ctx.narrator();
    PgCluster cluster = ctx.cluster(NAME);
    String primary = cluster.getStatus().currentPrimary;
    String standby = standbys(cluster).get(0);
    pgcOrFail(ctx, "fence", NAME, standby);
    var label = n.await(standby + " labelled role=fenced (out of -ro)", Duration.ofSeconds(30),
        () -> ctx.sandbox().client().pods().inNamespace(NAMESPACE).withName(standby).get().getMetadata().getLabels()
            .get(Labels.ROLE), "fenced"::equals);
    n.check("a fenced standby leaves -ro", "role=fenced", "role=" + label.value(), label.held());

    pgcOrFail(ctx, "fence", NAME, primary);
    String refused = null;
    try (Connection rw = ctx.readWrite(NAME)) {
      execute(rw, "INSERT INTO orders (id) VALUES (-1)");
    } catch (SQLException e) {
      refused = e.getMessage();
    }
    n.check("a write through -rw while the primary is fenced", "refused (read-only)",
        refused == null ? "accepted" : refused, refused != null && refused.contains("read-only"));
    n.say("phase: " + ctx.cluster(NAME).getStatus().phase + "; " + ctx.condition(NAME, "Degraded"));

    pgcOrFail(ctx, "unfence", NAME, "*");
    var writable = n.await("a write through -rw", Duration.ofSeconds(30), () -> {
      try (Connection rw = ctx.readWrite(NAME)) {
        execute(rw, "INSERT INTO orders (id) VALUES (-2) ON CONFLICT DO NOTHING");
        return true;
      }
    }, Boolean.TRUE::equals);
    n.check("unfenced: the primary takes writes again", "accepted", writable.held() ? "accepted" : "refused",
        writable.held());
    var back = n.await(standby + " behind -ro again", Duration.ofSeconds(30), () -> ctx.sandbox().client().pods()
        .inNamespace(NAMESPACE).withName(standby).get().getMetadata().getLabels().get(Labels.ROLE), "replica"::equals);
    n.check("unfenced: the standby is back", "role=replica", "role=" + back.value(), back.held());
  }

  /**
   * kubectl pgc as a user runs it: kubectl finds the plugin (the repository's launcher, cli/kubectl-pgc,
   * which runs the built jar) on the PATH, with the sandbox's kubeconfig.
   */
  private static KubeTools.Result pgc(ScenarioContext ctx, String... args) {
    ctx.narrator().say("$ kubectl pgc " + String.join(" ", args));
    List<String> all = new ArrayList<>(List.of("pgc"));
    all.addAll(List.of(args));
    KubeTools.Result result = new KubeTools(ctx.sandbox().kubeconfig())
        .kubectlPlugin(ControlPlaneBuild.repositoryRoot().resolve("cli"), all.toArray(String[]::new));
    result.output().lines().forEach(l -> ctx.narrator().say("  | " + l));
    return result;
  }

  private static void pgcOrFail(ScenarioContext ctx, String... args) {
    KubeTools.Result result = pgc(ctx, args);
    if (result.exit() != 0) {
      throw new IllegalStateException("kubectl pgc " + String.join(" ", args) + " exited " + result.exit());
    }
  }

  private static List<String> standbys(PgCluster cluster) {
    return cluster.getStatus().instances.stream().map((InstanceStatus i) -> i.name)
        .filter(p -> !p.equals(cluster.getStatus().currentPrimary)).sorted().toList();
  }

  /** One row every 20 ms through -rw, reconnecting after errors; what was acknowledged, and when. */
  private static final class Writer {
    private final ScenarioContext ctx;
    private final AtomicBoolean stop = new AtomicBoolean();
    private final List<long[]> acks = new ArrayList<>();  // {id, nanoTime}
    private Thread thread;

    Writer(ScenarioContext ctx) {
      this.ctx = ctx;
    }

    void start() {
      thread = new Thread(() -> {
        int id = 0;
        while (!stop.get()) {
          try (Connection c = ctx.readWrite(NAME, 3)) {
            while (!stop.get()) {
              int next = ++id;  // a failed insert's id is never tried again: it may have committed unacknowledged
              execute(c, "INSERT INTO orders (id) VALUES (" + next + ")");
              synchronized (acks) {
                acks.add(new long[] {next, System.nanoTime()});
              }
              Thread.sleep(20);
            }
          } catch (SQLException e) {
            pause(100);  // the primary changed or went away: connect again through -rw
          } catch (InterruptedException e) {
            return;
          }
        }
      }, "scenario-writer");
      thread.setDaemon(true);
      thread.start();
    }

    void stop() throws InterruptedException {
      stop.set(true);
      thread.join(10_000);
    }

    int acknowledged() {
      synchronized (acks) {
        return acks.size();
      }
    }

    /** When the first write after {@code since} was acknowledged (nanoTime), 0 if none yet. */
    long lastAckAfter(long since) {
      synchronized (acks) {
        return acks.stream().filter(a -> a[1] > since).mapToLong(a -> a[1]).findFirst().orElse(0);
      }
    }

    /** The longest time between two acknowledgements from the one before {@code since} on, in seconds. */
    double longestGapAfter(long since) {
      synchronized (acks) {
        long longest = 0;
        for (int i = 1; i < acks.size(); i++) {
          if (acks.get(i)[1] > since) {
            longest = Math.max(longest, acks.get(i)[1] - acks.get(i - 1)[1]);
          }
        }
        return longest / 1e9;
      }
    }

    /**
     * The acknowledged ids that {@code pod} does not have. The acknowledgements are taken before the
     * rows are read: a writer still running may commit more in between, which are not lost.
     */
    List<Integer> lost(ScenarioContext ctx, String pod) throws SQLException {
      List<long[]> acknowledged;
      synchronized (acks) {
        acknowledged = new ArrayList<>(acks);
      }
      Set<Integer> present = new HashSet<>();
      try (Connection c = ctx.pod(NAME, pod); Statement st = c.createStatement();
          ResultSet rs = st.executeQuery("SELECT id FROM orders")) {
        while (rs.next()) {
          present.add(rs.getInt(1));
        }
      }
      List<Integer> lost = new ArrayList<>();
      acknowledged.forEach(a -> {
        if (!present.contains((int) a[0])) {
          lost.add((int) a[0]);
        }
      });
      return lost;
    }

    private static void pause(long millis) {
      try {
        Thread.sleep(millis);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
