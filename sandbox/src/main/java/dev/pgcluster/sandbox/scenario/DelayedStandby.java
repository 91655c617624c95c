package dev.pgcluster.sandbox.scenario;

import static dev.pgcluster.sandbox.scenario.ScenarioContext.execute;
import static dev.pgcluster.sandbox.scenario.ScenarioContext.one;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Seed 001: a delayed standby applies WAL only after its delay. A row shows up there late, and a table
 * dropped by mistake on the primary is still there and is recovered from it before the delay passes.
 */
final class DelayedStandby implements Scenario {
  static final int DELAY_SECONDS = 20;

  @Override
  public String name() {
    return "delayed-standby";
  }

  @Override
  public String title() {
    return "seed 001: a delayed standby shows changes late, and a dropped table is recovered from it";
  }

  @Override
  public void run(ScenarioContext ctx) throws Exception {
    Narrator n = ctx.narrator();
    ctx.create("""
        apiVersion: pgcluster.dev/v1alpha1
        kind: PgCluster
        metadata:
          name: history
        spec:
          instances: 3
          storage:
            size: 1Gi
          replication:
            delayedReplicas:
              instances: 1
              applyDelay: %ds
        """.formatted(DELAY_SECONDS), 3);
    String primary = ctx.primary("history");
    String delayed = "history-2";  // the last ordinal is the delayed one
    String normal = primary.equals("history-0") ? "history-1" : "history-0";
    n.say(primary + " is the primary, " + normal + " a standby, " + delayed + " a standby " + DELAY_SECONDS
        + " s behind on purpose (recovery_min_apply_delay)");
    try (Connection rw = ctx.readWrite("history")) {
      execute(rw, "CREATE TABLE orders (id int PRIMARY KEY, item text)");
      execute(rw, "INSERT INTO orders SELECT i, 'item ' || i FROM generate_series(1, 100) i");
    }
    n.await("the 100 orders on the delayed standby (after its delay)", Duration.ofSeconds(DELAY_SECONDS + 40), () -> {
      try (Connection c = ctx.pod("history", delayed)) {
        return one(c, "SELECT count(*) FROM orders");
      }
    }, "100"::equals);

    long inserted = System.nanoTime();
    try (Connection rw = ctx.readWrite("history")) {
      execute(rw, "INSERT INTO orders VALUES (101, 'the new one')");
    }
    var onNormal = n.await("order 101 on " + normal, Duration.ofSeconds(15), () -> {
      try (Connection c = ctx.pod("history", normal)) {
        return one(c, "SELECT count(*) FROM orders WHERE id = 101");
      }
    }, "1"::equals);
    String early;
    try (Connection c = ctx.pod("history", delayed)) {
      early = one(c, "SELECT count(*) FROM orders WHERE id = 101");
    }
    n.check("a new row is on the normal standby at once and not yet on the delayed one",
        "on " + normal + ", not on " + delayed, (onNormal.held() ? "on " : "not on ") + normal + ", "
            + ("0".equals(early) ? "not on " : "on ") + delayed, onNormal.held() && "0".equals(early));
    var late = n.await("order 101 on " + delayed, Duration.ofSeconds(DELAY_SECONDS + 30), () -> {
      try (Connection c = ctx.pod("history", delayed)) {
        return one(c, "SELECT count(*) FROM orders WHERE id = 101");
      }
    }, "1"::equals);
    double after = (System.nanoTime() - inserted) / 1e9;
    n.check("it reaches the delayed standby after the delay", "after >= " + DELAY_SECONDS + " s",
        String.format(Locale.ROOT, "after %.1f s", after), late.held() && after >= DELAY_SECONDS - 1);

    n.say("the accident: DROP TABLE orders on the primary");
    try (Connection rw = ctx.readWrite("history")) {
      execute(rw, "DROP TABLE orders");
    }
    long dropped = System.nanoTime();
    List<String[]> rows = new ArrayList<>();
    try (Connection c = ctx.pod("history", delayed)) {
      // Hold the delayed standby where it is while the rows are copied out: the DROP must not reach it.
      execute(c, "SELECT pg_wal_replay_pause()");
      n.say("replay paused on " + delayed + " (pg_wal_replay_pause) while the rows are read");
      try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT id, item FROM orders ORDER BY id")) {
        while (rs.next()) {
          rows.add(new String[] {rs.getString(1), rs.getString(2)});
        }
      }
      n.check("the dropped table is still on the delayed standby", "101 rows", rows.size() + " rows", rows.size() == 101);
      try (Connection rw = ctx.readWrite("history")) {
        execute(rw, "CREATE TABLE orders (id int PRIMARY KEY, item text)");
        try (var insert = rw.prepareStatement("INSERT INTO orders VALUES (?, ?)")) {
          for (String[] r : rows) {
            insert.setInt(1, Integer.parseInt(r[0]));
            insert.setString(2, r[1]);
            insert.addBatch();
          }
          insert.executeBatch();
        }
        String restored = one(rw, "SELECT count(*) FROM orders");
        double took = (System.nanoTime() - dropped) / 1e9;
        n.check("the table is restored on the primary from the delayed standby", "101 rows, before the delay passed",
            String.format(Locale.ROOT, "%s rows, %.1f s after the DROP", restored, took),
            "101".equals(restored) && took < DELAY_SECONDS);
      }
      execute(c, "SELECT pg_wal_replay_resume()");
      n.say("replay resumed on " + delayed + ": it applies the DROP and the re-created table in " + DELAY_SECONDS + " s");
    }
  }
}
