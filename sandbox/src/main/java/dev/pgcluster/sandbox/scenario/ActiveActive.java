package dev.pgcluster.sandbox.scenario;

import static dev.pgcluster.sandbox.scenario.ScenarioContext.execute;
import static dev.pgcluster.sandbox.scenario.ScenarioContext.one;

import dev.pgcluster.operator.api.v1alpha1.ClusterPhase;
import dev.pgcluster.operator.api.v1alpha1.ConflictResolution;
import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.operator.naming.PgClusterNames;
import dev.pgcluster.sandbox.Sandbox;
import dev.pgcluster.sandbox.controlplane.ControlPlaneBuild;
import dev.pgcluster.sandbox.net.PodNetwork;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.sql.Connection;
import java.sql.DriverManager;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Properties;

/**
 * Seed 000: two datacenters (two namespaces here, each cluster its own HA pair), both taking writes and
 * replicating to each other with pglogical. A write on either side reaches the other; during a partition
 * between them both stay writable and disagree (AP); after it the conflict is settled by the declared rule:
 * last_update_wins converges on the later write, apply_remote on both sides swaps the two versions.
 */
final class ActiveActive implements Scenario {
  static final List<String> SIDES = List.of("dc1", "dc2");

  @Override
  public String name() {
    return "active-active";
  }

  @Override
  public String title() {
    return "seed 000: two clusters both taking writes (pglogical), a conflict settled by the declared rule, AP in a"
        + " partition";
  }

  @Override
  public void run(ScenarioContext ctx) throws Exception {
    Narrator n = ctx.narrator();
    Sandbox sandbox = ctx.sandbox();
    try {
      setUp(ctx);
      try (Connection dc1 = readWrite(sandbox, "dc1"); Connection dc2 = readWrite(sandbox, "dc2")) {
        execute(dc1, "INSERT INTO items VALUES (1, 'written in dc1')");
        execute(dc2, "INSERT INTO items VALUES (2, 'written in dc2')");
        n.say("INSERT id 1 in dc1, id 2 in dc2");
        for (String ns : SIDES) {
          Connection side = ns.equals("dc1") ? dc1 : dc2;
          var both = n.await("both rows on " + ns, Duration.ofSeconds(30),
              () -> one(side, "SELECT string_agg(id::text, ',' ORDER BY id) FROM items"), "1,2"::equals);
          n.check("a write on either side reaches " + ns, "1,2", both.value(), both.held());
        }
      }
      conflict(ctx, ConflictResolution.LAST_UPDATE_WINS, "both hold dc2's version (the later commit)",
          "dc2 update", "dc2 update");
      policy(ctx, ConflictResolution.APPLY_REMOTE);
      conflict(ctx, ConflictResolution.APPLY_REMOTE, "each holds the other's version: swapped, not converged",
          "dc2 update", "dc1 update");
    } finally {
      for (String ns : SIDES) {
        sandbox.client().resources(PgCluster.class).inNamespace(ns).delete();
      }
    }
  }

  /** The example pair applied, each side given the other's credentials, the same table made on both. */
  private static void setUp(ScenarioContext ctx) throws Exception {
    Narrator n = ctx.narrator();
    Sandbox sandbox = ctx.sandbox();
    for (String ns : SIDES) {
      if (sandbox.client().namespaces().withName(ns).get() == null) {
        sandbox.client().namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(ns).endMetadata()
            .build()).create();
      }
      sandbox.apply(ns, Files.readString(ControlPlaneBuild.repositoryRoot()
          .resolve("examples/pgcluster-active-active-" + ns + ".yaml")));
      n.say("kubectl apply -f examples/pgcluster-active-active-" + ns + ".yaml (namespace " + ns + ", 2 instances,"
          + " pglogical node " + ns + ", last_update_wins)");
    }
    for (String ns : SIDES) {
      var healthy = n.await(ns + "/pg Healthy with 2 instances ready", Duration.ofMinutes(4), () -> cluster(sandbox, ns),
          c -> c.getStatus() != null && c.getStatus().phase == ClusterPhase.Healthy
              && Integer.valueOf(2).equals(c.getStatus().readyInstances));
      if (!healthy.held()) {
        throw new IllegalStateException(ns + "/pg did not become Healthy");
      }
    }
    for (String ns : SIDES) {
      // DDL is not replicated: the same table on both sides, before anything is written.
      n.await(ns + " takes writes", Duration.ofSeconds(60), () -> {
        try (Connection c = readWrite(sandbox, ns)) {
          execute(c, "CREATE TABLE IF NOT EXISTS items (id int PRIMARY KEY, v text NOT NULL)");
          return true;
        }
      }, ok -> ok);
      n.say("CREATE TABLE items in " + ns);
    }
    for (String ns : SIDES) {
      String other = ns.equals("dc1") ? "dc2" : "dc1";
      sandbox.client().secrets().inNamespace(ns).resource(new SecretBuilder().withNewMetadata().withName("peer")
          .endMetadata().addToStringData("username", PgClusterNames.SUPERUSER)
          .addToStringData("password", password(sandbox, other, "pg-superuser")).build()).createOr(s -> s.update());
      n.say("Secret " + ns + "/peer: " + other + "'s superuser");
    }
    for (String ns : SIDES) {
      var replicating = n.await(ns + "'s subscription to the other side replicating", Duration.ofMinutes(2),
          () -> cluster(sandbox, ns), c -> c.getStatus().logicalReplication != null
              && !c.getStatus().logicalReplication.subscriptions.isEmpty()
              && "replicating".equals(c.getStatus().logicalReplication.subscriptions.get(0).state)
              && c.getStatus().logicalReplication.tables.contains("items"));
      n.check(ns + " subscribed and publishing items", "replicating", replicating.held() ? "replicating" : "not yet",
          replicating.held());
    }
  }

  /**
   * The two sides cut off from each other; both take a write to row 1 (dc2's a second later) and a new row
   * each; then the link is back and the rule settles row 1.
   */
  private static void conflict(ScenarioContext ctx, ConflictResolution policy, String expected, String dc1Holds,
      String dc2Holds) throws Exception {
    Narrator n = ctx.narrator();
    Sandbox sandbox = ctx.sandbox();
    String p1 = cluster(sandbox, "dc1").getStatus().currentPrimary;
    String p2 = cluster(sandbox, "dc2").getStatus().currentPrimary;
    PodNetwork.Cut cut = sandbox.partition("dc1", p1, new PodNetwork.Peer.Pod(sandbox.podIp("dc2", p2)));
    n.say("partition: dc1's primary and dc2's primary cannot reach each other (" + policy.value() + ")");
    int base = policy == ConflictResolution.LAST_UPDATE_WINS ? 100 : 200;
    try (Connection dc1 = readWrite(sandbox, "dc1"); Connection dc2 = readWrite(sandbox, "dc2")) {
      execute(dc1, "UPDATE items SET v = 'dc1 update' WHERE id = 1");
      execute(dc1, "INSERT INTO items VALUES (" + (base + 1) + ", 'dc1 alone')");
      Thread.sleep(1_000);
      execute(dc2, "UPDATE items SET v = 'dc2 update' WHERE id = 1");
      execute(dc2, "INSERT INTO items VALUES (" + (base + 2) + ", 'dc2 alone')");
      n.check("both sides take writes during the partition (AP)", "both committed", "both committed", true);
      Thread.sleep(3_000);
      String a = one(dc1, "SELECT v FROM items WHERE id = 1");
      String b = one(dc2, "SELECT v FROM items WHERE id = 1");
      n.check("during the partition the sides disagree on row 1", "dc1 update / dc2 update", a + " / " + b,
          "dc1 update".equals(a) && "dc2 update".equals(b));
    } finally {
      sandbox.heal(cut);
      n.say("partition healed");
    }
    try (Connection dc1 = readWrite(sandbox, "dc1"); Connection dc2 = readWrite(sandbox, "dc2")) {
      String rows = base + 1 + "," + (base + 2);
      var exchanged = n.await("the partition's new rows on both sides", Duration.ofSeconds(90),
          () -> one(dc1, "SELECT string_agg(id::text, ',' ORDER BY id) FROM items WHERE id > " + base) + "|"
              + one(dc2, "SELECT string_agg(id::text, ',' ORDER BY id) FROM items WHERE id > " + base),
          (rows + "|" + rows)::equals);
      n.check("rows written apart reach the other side once healed", rows + " on both", exchanged.value(),
          exchanged.held());
      var settled = n.await("row 1 settled by " + policy.value(), Duration.ofSeconds(30),
          () -> one(dc1, "SELECT v FROM items WHERE id = 1") + " / " + one(dc2, "SELECT v FROM items WHERE id = 1"),
          (dc1Holds + " / " + dc2Holds)::equals);
      n.check(policy.value() + ": " + expected, dc1Holds + " / " + dc2Holds, settled.value(), settled.held());
    }
  }

  /** Both sides switched to another conflict rule; applied with a reload, no restart. */
  private static void policy(ScenarioContext ctx, ConflictResolution policy) throws Exception {
    Narrator n = ctx.narrator();
    Sandbox sandbox = ctx.sandbox();
    for (String ns : SIDES) {
      sandbox.editCluster(ns, "pg", c -> {
        c.getSpec().logicalReplication.conflictResolution = policy;
        return c;
      });
      // pglogical's apply workers read the rule when they start: the status says once they run with it.
      var reloaded = n.await(ns + "'s apply worker running " + policy.value(), Duration.ofSeconds(90),
          () -> cluster(sandbox, ns).getStatus().logicalReplication.conflictResolution, policy.value()::equals);
      n.check(ns + ": conflictResolution " + policy.value() + " in effect", policy.value(), reloaded.value(),
          reloaded.held());
    }
  }

  private static PgCluster cluster(Sandbox sandbox, String ns) {
    return sandbox.client().resources(PgCluster.class).inNamespace(ns).withName("pg").get();
  }

  /** The application's owner through the side's -rw Service. */
  private static Connection readWrite(Sandbox sandbox, String ns) throws java.sql.SQLException {
    Properties props = new Properties();
    props.setProperty("user", "app");
    props.setProperty("password", password(sandbox, ns, "pg-app"));
    props.setProperty("connectTimeout", "5");
    props.setProperty("socketTimeout", "30");
    return DriverManager.getConnection("jdbc:postgresql://" + sandbox.serviceAddress(ns, "pg-rw") + ":5432/app", props);
  }

  private static String password(Sandbox sandbox, String ns, String secret) {
    var s = sandbox.client().secrets().inNamespace(ns).withName(secret).get();
    return new String(Base64.getDecoder().decode(s.getData().get("password")), StandardCharsets.UTF_8);
  }
}
