package dev.pgcluster.sandbox.scenario;

import static dev.pgcluster.sandbox.scenario.ScenarioContext.NAMESPACE;
import static dev.pgcluster.sandbox.scenario.ScenarioContext.execute;
import static dev.pgcluster.sandbox.scenario.ScenarioContext.one;

import dev.pgcluster.operator.api.v1alpha1.Durability;
import java.sql.Connection;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Seed 001: a primary and its only synchronous standby. With durability required, a commit waits while
 * the standby is gone and returns when it is back; with preferred, the quorum shrinks and commits go on.
 */
final class SyncBlocks implements Scenario {
  @Override
  public String name() {
    return "sync-blocks";
  }

  @Override
  public String title() {
    return "seed 001: synchronous replication blocks commits without its standby (required), or shrinks (preferred)";
  }

  @Override
  public void run(ScenarioContext ctx) throws Exception {
    Narrator n = ctx.narrator();
    ctx.create("""
        apiVersion: pgcluster.dev/v1alpha1
        kind: PgCluster
        metadata:
          name: lab
        spec:
          instances: 2
          storage:
            size: 1Gi
          replication:
            mode: sync
            number: 1
            durability: required
        """, 2);
    String primary = ctx.primary("lab");
    String standby = primary.equals("lab-0") ? "lab-1" : "lab-0";
    try (Connection admin = ctx.pod("lab", primary)) {
      n.say(primary + " is the primary, synchronous_standby_names = " + one(admin, "SHOW synchronous_standby_names"));
    }
    try (Connection rw = ctx.readWrite("lab")) {
      execute(rw, "CREATE TABLE ledger (id serial PRIMARY KEY, note text)");
      long t0 = System.nanoTime();
      execute(rw, "INSERT INTO ledger (note) VALUES ('with the standby')");
      n.say(String.format(Locale.ROOT, "a commit with its standby there: acknowledged in %.1f ms",
          (System.nanoTime() - t0) / 1e6));

      n.say("stopping the only synchronous standby " + standby + " (its node is lost: every process killed)");
      ctx.sandbox().loseNode(NAMESPACE, standby);
      n.await("the primary sees no standby", Duration.ofSeconds(30), () -> {
        try (Connection admin = ctx.pod("lab", primary)) {
          return one(admin, "SELECT count(*) FROM pg_stat_replication");
        }
      }, "0"::equals);
      long started = System.nanoTime();
      CompletableFuture<Void> commit = CompletableFuture.runAsync(() -> {
        try {
          execute(rw, "INSERT INTO ledger (note) VALUES ('while the standby is gone')");
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      });
      boolean waited;
      try {
        commit.get(5, TimeUnit.SECONDS);
        waited = false;
      } catch (TimeoutException e) {
        waited = true;
      }
      n.check("a commit waits without the synchronous standby", "still waiting after 5 s",
          waited ? "still waiting after 5 s" : "acknowledged", waited);
      var missing = n.await("the status says why", Duration.ofSeconds(30), () -> ctx.condition("lab", "Degraded"),
          c -> c.startsWith("True/SynchronousStandbysMissing"));
      n.check("the status names the cause", "Degraded/SynchronousStandbysMissing", missing.value(), missing.held());

      n.say("starting " + standby + " again (its node comes back)");
      ctx.sandbox().restoreLostNodes();
      var returned = n.await("the waiting commit returns", Duration.ofSeconds(150), () -> commit.isDone()
          && !commit.isCompletedExceptionally(), Boolean.TRUE::equals);
      n.check("the commit returns once the standby is back", "acknowledged",
          returned.held() ? String.format(Locale.ROOT, "acknowledged after %.1f s of waiting",
              (System.nanoTime() - started) / 1e9) : "still waiting", returned.held());
    }
    ctx.awaitHealthy("lab", 2, Duration.ofMinutes(2));

    n.say("now durability: preferred (kubectl edit): without a standby the quorum shrinks instead");
    ctx.edit("lab", c -> {
      c.getSpec().replication.durability = Durability.PREFERRED;
      return c;
    });
    ctx.sandbox().loseNode(NAMESPACE, standby);
    n.say("stopping " + standby + " again");
    try (Connection rw = ctx.readWrite("lab")) {
      long t0 = System.nanoTime();
      CompletableFuture<Void> commit = CompletableFuture.runAsync(() -> {
        try {
          execute(rw, "INSERT INTO ledger (note) VALUES ('preferred, without the standby')");
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      });
      boolean done;
      try {
        commit.get(30, TimeUnit.SECONDS);
        done = true;
      } catch (TimeoutException e) {
        done = false;
      }
      n.check("commits go on without the standby (preferred)", "acknowledged within 30 s", done
          ? String.format(Locale.ROOT, "acknowledged after %.1f s (the operator noticed and shrank the quorum)",
              (System.nanoTime() - t0) / 1e9) : "still waiting", done);
      var reduced = n.await("the status says the quorum shrank", Duration.ofSeconds(30),
          () -> ctx.condition("lab", "Degraded"), c -> c.startsWith("True/SynchronousQuorumReduced"));
      n.check("the status says so", "Degraded/SynchronousQuorumReduced", reduced.value(), reduced.held());
      String names = one(rw, "SHOW synchronous_standby_names");
      n.check("replication is asynchronous meanwhile", "synchronous_standby_names = ''", "'" + names + "'",
          names.isEmpty());
    }
    n.say("starting " + standby + " again");
    ctx.sandbox().restoreLostNodes();
    var restored = n.await("the quorum restored", Duration.ofSeconds(150), () -> {
      try (Connection admin = ctx.pod("lab", primary)) {
        return one(admin, "SHOW synchronous_standby_names");
      }
    }, v -> v != null && v.contains(standby));
    n.check("the standby is synchronous again", "ANY 1 (\"" + standby + "\")", String.valueOf(restored.value()),
        restored.held());
  }
}
