package dev.pgcluster.sandbox.scenario;

import static dev.pgcluster.sandbox.scenario.ScenarioContext.NAMESPACE;
import static dev.pgcluster.sandbox.scenario.ScenarioContext.execute;
import static dev.pgcluster.sandbox.scenario.ScenarioContext.one;

import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Seeds 001 and 002: the primary is lost while its standby lags. Asynchronous replication acknowledged
 * commits the new primary never got, and the scenario shows which; synchronous replication (durability
 * required) acknowledged none that it lost.
 */
final class AsyncLoss implements Scenario {
  @Override
  public String name() {
    return "async-loss";
  }

  @Override
  public String title() {
    return "seeds 001, 002: losing the primary loses acknowledged commits under async replication, none under sync";
  }

  @Override
  public void run(ScenarioContext ctx) throws Exception {
    Narrator n = ctx.narrator();
    List<Integer> lostAsync = lose(ctx, "async", "", 5);
    n.check("async: acknowledged commits lost in the failover", "some (the ones the standby never received)",
        lostAsync.size() + " lost: ids " + lostAsync, !lostAsync.isEmpty());
    PgCluster rejoined = n.await("the former primary rejoins and the status counts what pg_rewind discarded",
        Duration.ofSeconds(150), () -> ctx.cluster("async"),
        c -> c.getStatus().lastPrimaryChange != null && c.getStatus().lastPrimaryChange.rewind != null).value();
    var rewind = rejoined == null || rejoined.getStatus().lastPrimaryChange == null ? null
        : rejoined.getStatus().lastPrimaryChange.rewind;
    n.check("the status reports the realised loss", ">= " + lostAsync.size() + " transactions discarded",
        rewind == null ? "nothing reported" : rewind.describe(),
        rewind != null && rewind.transactions != null && rewind.transactions >= lostAsync.size());

    List<Integer> lostSync = lose(ctx, "sync", """
          replication:
            mode: sync
            number: 1
            durability: required
        """, 5);
    n.check("sync (durability required): acknowledged commits lost", "none", lostSync.size() + " lost",
        lostSync.isEmpty());
  }

  /**
   * A two-instance cluster; the primary's standby is cut off (it stops receiving WAL), a client on the
   * primary's own address commits {@code commits} rows, then the primary's node is lost. Returns the
   * acknowledged ids the promoted standby does not have.
   */
  private static List<Integer> lose(ScenarioContext ctx, String name, String replication, int commits)
      throws Exception {
    Narrator n = ctx.narrator();
    ctx.create("""
        apiVersion: pgcluster.dev/v1alpha1
        kind: PgCluster
        metadata:
          name: %s
        spec:
          instances: 2
          storage:
            size: 1Gi
        %s""".formatted(name, replication), 2);
    String primary = ctx.primary(name);
    String standby = primary.equals(name + "-0") ? name + "-1" : name + "-0";
    try (Connection rw = ctx.readWrite(name)) {
      execute(rw, "CREATE TABLE acked (id int PRIMARY KEY, at timestamptz DEFAULT now())");
      for (int id = 1; id <= 100; id++) {
        execute(rw, "INSERT INTO acked (id) VALUES (" + id + ")");
      }
    }
    n.await("the first 100 rows on " + standby, Duration.ofSeconds(30), () -> {
      try (Connection c = ctx.pod(name, standby)) {
        return one(c, "SELECT count(*) FROM acked");
      }
    }, "100"::equals);
    n.say(name + ": 100 rows committed and replicated; now " + standby + " is cut off from " + primary
        + " (the network between them fails), while clients still reach " + primary);
    String primaryIp = ctx.sandbox().podIp(NAMESPACE, primary);
    ctx.sandbox().cutOff(NAMESPACE, primary);
    List<Integer> acknowledged = new ArrayList<>();
    AtomicBoolean stop = new AtomicBoolean();
    Thread writer = new Thread(() -> {
      try (Connection c = ctx.podAsApp(name, primary)) {
        for (int id = 101; id < 101 + commits && !stop.get(); id++) {
          execute(c, "INSERT INTO acked (id) VALUES (" + id + ")");
          synchronized (acknowledged) {
            acknowledged.add(id);
          }
        }
      } catch (Exception e) {
        // the node goes away under it
      }
    }, "writer");
    writer.start();
    writer.join(5000);
    synchronized (acknowledged) {
      n.say(name + ": " + acknowledged.size() + " more commits acknowledged by " + primary + " ("
          + (acknowledged.isEmpty() ? "each one waits for a synchronous standby" : "ids " + acknowledged) + ")");
    }
    int epoch = ctx.cluster(name).getStatus().primaryEpoch;
    n.say(name + ": " + primary + "'s node is lost");
    ctx.sandbox().loseNode(NAMESPACE, primary);
    var promoted = n.await("the operator fails over to " + standby, Duration.ofSeconds(90), () -> ctx.cluster(name),
        c -> c.getStatus().primaryEpoch > epoch && c.getStatus().lastPrimaryChange != null
            && c.getStatus().lastPrimaryChange.promotedAt != null);
    stop.set(true);
    writer.join(10_000);
    if (!promoted.held()) {
      throw new IllegalStateException(name + ": no failover");
    }
    List<Integer> lost = new ArrayList<>();
    try (Connection c = ctx.pod(name, standby)) {
      var present = new java.util.HashSet<String>();
      try (var st = c.createStatement(); var rs = st.executeQuery("SELECT id FROM acked")) {
        while (rs.next()) {
          present.add(rs.getString(1));
        }
      }
      synchronized (acknowledged) {
        for (int id : acknowledged) {
          if (!present.contains(Integer.toString(id))) {
            lost.add(id);
          }
        }
      }
      n.say(name + ": " + standby + " is the new primary with " + present.size() + " rows; of the commits "
          + primary + " acknowledged, " + lost.size() + " are not there");
    }
    ctx.sandbox().reconnectAddress(primaryIp);
    ctx.sandbox().restoreLostNodes();
    return lost;
  }
}
