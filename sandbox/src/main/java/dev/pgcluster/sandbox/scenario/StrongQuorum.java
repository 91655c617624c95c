package dev.pgcluster.sandbox.scenario;

import static dev.pgcluster.sandbox.scenario.ScenarioContext.NAMESPACE;
import static dev.pgcluster.sandbox.scenario.ScenarioContext.execute;
import static dev.pgcluster.sandbox.scenario.ScenarioContext.one;

import dev.pgcluster.operator.api.v1alpha1.InstanceRole;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Seed 004: ANY 2 of 2 standbys with synchronous_commit = remote_apply. A commit is acknowledged only
 * once both standbys have applied it, so it is readable on each at once (read-your-writes anywhere);
 * after a failover nothing acknowledged is missing and the former primary rejoins through pg_rewind.
 */
final class StrongQuorum implements Scenario {
  static final int WRITES = 20;

  @Override
  public String name() {
    return "strong-quorum";
  }

  @Override
  public String title() {
    return "seed 004: ANY 2 with remote_apply: every acknowledged write readable on every standby, kept by a failover";
  }

  @Override
  public void run(ScenarioContext ctx) throws Exception {
    Narrator n = ctx.narrator();
    ctx.create("""
        apiVersion: pgcluster.dev/v1alpha1
        kind: PgCluster
        metadata:
          name: strong
        spec:
          instances: 3
          storage:
            size: 1Gi
          replication:
            mode: sync
            method: any
            number: 2
            durability: required
            synchronousCommit: remote_apply
        """, 3);
    String primary = ctx.primary("strong");
    List<String> standbys = new ArrayList<>(List.of("strong-0", "strong-1", "strong-2"));
    standbys.remove(primary);
    try (Connection admin = ctx.pod("strong", primary)) {
      n.say(primary + ": synchronous_standby_names = " + one(admin, "SHOW synchronous_standby_names")
          + ", synchronous_commit = " + one(admin, "SHOW synchronous_commit"));
    }
    int readable = 0;
    try (Connection rw = ctx.readWrite("strong"); Connection a = ctx.pod("strong", standbys.get(0));
        Connection b = ctx.pod("strong", standbys.get(1))) {
      execute(rw, "CREATE TABLE accounts (id int PRIMARY KEY, balance int)");
      for (int id = 1; id <= WRITES; id++) {
        execute(rw, "INSERT INTO accounts VALUES (" + id + ", 100)");
        // Read at once, no waiting: remote_apply acknowledged it only after both had applied it.
        boolean onA = "1".equals(one(a, "SELECT count(*) FROM accounts WHERE id = " + id));
        boolean onB = "1".equals(one(b, "SELECT count(*) FROM accounts WHERE id = " + id));
        if (onA && onB) {
          readable++;
        }
      }
    }
    n.check("each acknowledged write is readable at once on both standbys", WRITES + " of " + WRITES,
        readable + " of " + WRITES, readable == WRITES);

    int epoch = ctx.cluster("strong").getStatus().primaryEpoch;
    n.say(primary + "'s node is lost");
    ctx.sandbox().loseNode(NAMESPACE, primary);
    var promoted = n.await("the operator fails over", Duration.ofSeconds(90), () -> ctx.cluster("strong"),
        c -> c.getStatus().primaryEpoch > epoch && c.getStatus().lastPrimaryChange != null
            && c.getStatus().lastPrimaryChange.promotedAt != null);
    if (!promoted.held()) {
      throw new IllegalStateException("no failover");
    }
    String next = promoted.value().getStatus().currentPrimary;
    try (Connection c = ctx.pod("strong", next)) {
      String rows = one(c, "SELECT count(*) FROM accounts");
      n.check("every acknowledged write on the new primary " + next, Integer.toString(WRITES), rows,
          Integer.toString(WRITES).equals(rows));
    }
    n.say(primary + "'s node comes back");
    ctx.sandbox().restoreLostNodes();
    var rejoined = n.await(primary + " rejoins through pg_rewind", Duration.ofSeconds(150), () -> ctx.cluster("strong"),
        c -> c.getStatus().lastPrimaryChange != null && c.getStatus().lastPrimaryChange.rewind != null
            && c.getStatus().instances.stream().anyMatch(i -> primary.equals(i.name) && i.role == InstanceRole.REPLICA
                && Boolean.TRUE.equals(i.ready)));
    var rewind = rejoined.held() ? rejoined.value().getStatus().lastPrimaryChange.rewind : null;
    n.check("the former primary rejoined; pg_rewind discarded no transaction", "0 transactions discarded",
        rewind == null ? "not rejoined" : rewind.describe(), rewind != null && Integer.valueOf(0).equals(rewind.transactions));
  }
}
