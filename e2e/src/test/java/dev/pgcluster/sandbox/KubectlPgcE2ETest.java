package dev.pgcluster.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.sandbox.controlplane.ControlPlaneBuild;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import java.util.zip.ZipFile;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The kubectl plugin as a user gets it: installed by bin/install-kubectl-pgc, run by kubectl from the
 * PATH against the sandbox through $KUBECONFIG. Each command's outcome is checked in the cluster, and
 * each refusal changes nothing.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class KubectlPgcE2ETest {
  static final String NS = "default";
  final Path repo = ControlPlaneBuild.repositoryRoot();
  SandboxCluster shop;
  Sandbox sandbox;
  KubeTools kubectl;
  Path prefix;

  @BeforeAll
  void start() throws Exception {
    prefix = Files.createTempDirectory("kubectl-pgc-");
    Process install = new ProcessBuilder(repo.resolve("bin/install-kubectl-pgc").toString(), prefix.toString(),
        "--no-build").redirectErrorStream(true).start();
    String out = new String(install.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, install.waitFor(), out);
    assertTrue(Files.isExecutable(prefix.resolve("bin/kubectl-pgc")), out);
    shop = SandboxCluster.start(NS, """
        apiVersion: pgcluster.dev/v1alpha1
        kind: PgCluster
        metadata:
          name: shop
        spec:
          instances: 3
          storage:
            size: 1Gi
        """, 3, Duration.ofSeconds(180));
    sandbox = shop.sandbox;
    kubectl = new KubeTools(sandbox.kubeconfig());
  }

  @AfterAll
  void stop() throws Exception {
    SandboxCluster.closeAndCheckNoLeftovers(sandbox);
    if (prefix != null) {
      try (Stream<Path> files = Files.walk(prefix)) {
        files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  private KubeTools.Result pgc(String... args) {
    return pgcWithInput(null, args);
  }

  /** kubectl pgc with {@code typed} as what the user types at its prompt. */
  private KubeTools.Result pgcWithInput(String typed, String... args) {
    String[] all = new String[args.length + 1];
    all[0] = "pgc";
    System.arraycopy(args, 0, all, 1, args.length);
    KubeTools.Result result = kubectl.kubectlPluginWithInput(prefix.resolve("bin"), typed, all);
    System.out.println("$ kubectl pgc " + String.join(" ", args) + "\n" + result.output() + "(exit " + result.exit() + ")");
    return result;
  }

  @Test
  @Order(1)
  void statusShowsTheClusterAtAGlanceAndAsJson() throws Exception {
    String primary = shop.get().getStatus().currentPrimary;
    KubeTools.Result status = pgc("status", "shop");
    assertEquals(0, status.exit(), status.output());
    assertTrue(status.output().contains("phase Healthy   3/3 instances ready"), status.output());
    assertTrue(status.output().contains("Primary   " + primary + "   epoch "), status.output());
    for (String pod : List.of("shop-0", "shop-1", "shop-2")) {
      assertTrue(status.output().lines().anyMatch(l -> l.startsWith(pod + " ") && l.contains(
          pod.equals(primary) ? "primary" : "replica")), pod + " in " + status.output());
    }
    assertFalse(status.output().contains("\u001b["), "no colour when the output is not a terminal");

    KubeTools.Result json = pgc("status", "shop", "-o", "json");
    assertEquals(0, json.exit(), json.output());
    var node = new ObjectMapper().readTree(json.output());
    assertEquals(primary, node.at("/status/currentPrimary").asText());
    assertEquals(3, node.at("/status/instances").size());

    KubeTools.Result missing = pgc("status", "nosuch");
    assertEquals(1, missing.exit(), missing.output());
    assertEquals("error: pgcluster nosuch not found in namespace default", missing.output().strip());
    KubeTools.Result wrongNamespace = pgc("status", "shop", "-n", "elsewhere");
    assertEquals(1, wrongNamespace.exit());
    assertTrue(wrongNamespace.output().contains("not found in namespace elsewhere"), wrongNamespace.output());
    KubeTools.Result usage = pgc("switchover", "shop");
    assertEquals(2, usage.exit(), "a missing option is a usage error: " + usage.output());
  }

  @Test
  @Order(2)
  void aSwitchoverIsRequestedAndFollowedAndRefusalsChangeNothing() throws Exception {
    String primary = shop.get().getStatus().currentPrimary;
    String standby = Stream.of("shop-0", "shop-1", "shop-2").filter(p -> !p.equals(primary)).findFirst().orElseThrow();
    KubeTools.Result unknown = pgc("switchover", "shop", "--to", "shop-9");
    assertEquals(1, unknown.exit());
    assertEquals("error: shop-9 is not an instance of shop (its instances: shop-0, shop-1, shop-2); nothing changed",
        unknown.output().strip());
    KubeTools.Result already = pgc("switchover", "shop", "--to", primary);
    assertEquals(1, already.exit());
    assertTrue(already.output().contains(primary + " is already the primary of shop"), already.output());
    assertNull(shop.get().getSpec().switchover, "a refused switchover writes nothing");

    KubeTools.Result done = pgc("switchover", "shop", "--to", standby);
    assertEquals(0, done.exit(), done.output());
    assertTrue(done.output().contains("done: " + standby + " is the primary"), done.output());
    PgCluster after = shop.get();
    assertEquals(standby, after.getStatus().currentPrimary);
    assertEquals(standby, after.getSpec().switchover.target);
    assertTrue(after.getSpec().switchover.id.startsWith("pgc-"), after.getSpec().switchover.id);
  }

  @Test
  @Order(3)
  void psqlOpensTheRightInstanceAsTheRightUser() {
    KubeTools.Result rw = pgc("psql", "shop", "--", "-At", "-c", "SELECT current_user || ' ' || pg_is_in_recovery()");
    assertEquals(0, rw.exit(), rw.output());
    assertEquals("app false", rw.output().strip());
    KubeTools.Result ro = pgc("psql", "shop", "--ro", "--", "-At", "-c", "SELECT pg_is_in_recovery()");
    assertEquals(0, ro.exit(), ro.output());
    assertEquals("t", ro.output().strip());
    KubeTools.Result su = pgc("psql", "shop", "--superuser", "--", "-At", "-c", "SELECT current_user, current_database()");
    assertEquals(0, su.exit(), su.output());
    assertEquals("postgres|postgres", su.output().strip());
  }

  @Test
  @Order(4)
  void logsAndAReportWithoutSecretValues() throws Exception {
    KubeTools.Result logs = pgc("logs", "shop", "--pod", "shop-1", "-c", "agent", "--tail", "5");
    assertEquals(0, logs.exit(), logs.output());
    List<String> lines = logs.output().lines().toList();
    assertTrue(!lines.isEmpty() && lines.size() <= 5, logs.output());
    assertTrue(lines.stream().allMatch(l -> l.startsWith("[shop-1/agent] ")), logs.output());

    Path zip = prefix.resolve("report.zip");
    KubeTools.Result report = pgc("report", "shop", "-f", zip.toString());
    assertEquals(0, report.exit(), report.output());
    Set<String> entries = new TreeSet<>();
    Map<String, String> content = new HashMap<>();
    try (ZipFile file = new ZipFile(zip.toFile())) {
      file.stream().forEach(e -> {
        entries.add(e.getName());
        try {
          content.put(e.getName(), new String(file.getInputStream(e).readAllBytes(), StandardCharsets.UTF_8));
        } catch (java.io.IOException ex) {
          throw new java.io.UncheckedIOException(ex);
        }
      });
    }
    for (String expected : List.of("pgcluster.yaml", "status.txt", "events.yaml", "pods.yaml", "statefulset.yaml",
        "services.yaml", "configmaps.yaml", "primary-lease.yaml", "secrets.txt", "logs/shop-0/bootstrap.log",
        "logs/shop-0/postgres.log", "logs/shop-2/agent.log")) {
      assertTrue(entries.contains(expected), expected + " in " + entries);
    }
    assertTrue(entries.stream().anyMatch(e -> e.startsWith("operator/") && e.endsWith(".log")), entries.toString());
    assertTrue(content.get("events.yaml").contains("SwitchoverStarted"), "the switchover's events: "
        + content.get("events.yaml"));
    assertTrue(content.get("logs/shop-0/postgres.log").contains("database system is ready"),
        content.get("logs/shop-0/postgres.log"));
    assertTrue(content.get("secrets.txt").contains("shop-app: [") , content.get("secrets.txt"));
    for (String secret : List.of("shop-app", "shop-superuser", "shop-replication")) {
      String password = shop.password(secret);
      for (var entry : content.entrySet()) {
        assertFalse(entry.getValue().contains(password), secret + "'s password in " + entry.getKey());
      }
    }
  }

  @Test
  @Order(5)
  void restartRefusesThePrimaryAloneAndRestartsAStandbyOrEveryInstance() throws Exception {
    PgCluster before = shop.get();
    String primary = before.getStatus().currentPrimary;
    String standby = Stream.of("shop-0", "shop-1", "shop-2").filter(p -> !p.equals(primary)).findFirst().orElseThrow();
    KubeTools.Result refused = pgc("restart", "shop", primary);
    assertEquals(1, refused.exit());
    assertTrue(refused.output().contains(primary + " is the primary: restarting it alone would stop writes"),
        refused.output());
    Map<String, String> uids = uids();

    KubeTools.Result one = pgc("restart", "shop", standby);
    assertEquals(0, one.exit(), one.output());
    Await.until(Duration.ofSeconds(120), standby + " recreated and ready", () -> !uids.get(standby).equals(uids()
        .get(standby)) && shop.get().getStatus().readyInstances == 3);
    assertEquals(uids.get(primary), uids().get(primary), "the primary was not touched");

    Map<String, String> beforeRolling = uids();
    int epoch = shop.get().getStatus().primaryEpoch;
    KubeTools.Result all = pgc("restart", "shop");
    assertEquals(0, all.exit(), all.output());
    assertTrue(all.output().contains("rolling restart of shop requested"), all.output());
    Await.until(Duration.ofSeconds(240), "every instance restarted and the cluster Healthy", () -> {
      Map<String, String> now = uids();
      PgCluster c = shop.get();
      // The status may lag the pods by a moment: the switchover's epoch says the primary's turn is done.
      return now.size() == 3 && now.keySet().stream().allMatch(p -> !now.get(p).equals(beforeRolling.get(p)))
          && c.getStatus().primaryEpoch > epoch
          && c.getStatus().phase == dev.pgcluster.operator.api.v1alpha1.ClusterPhase.Healthy
          && c.getStatus().readyInstances == 3;
    });
    var change = shop.get().getStatus().lastPrimaryChange;
    assertTrue(change.reason.startsWith("restart of primary"), "the primary was restarted by a switchover: "
        + change.reason);
    shop.awaitWritable();
  }

  /**
   * promote refuses while the primary is healthy; fence takes a standby out of -ro (its EndpointSlices,
   * kept by the real controller), unfence brings it back; an unreadable fence annotation written by hand
   * is reported and the fence in force stays.
   */
  @Test
  @Order(6)
  void promoteRefusesAHealthyPrimaryAndFenceTakesAStandbyOutOfService() throws Exception {
    PgCluster before = shop.get();
    String primary = before.getStatus().currentPrimary;
    String standby = Stream.of("shop-0", "shop-1", "shop-2").filter(p -> !p.equals(primary)).findFirst().orElseThrow();
    KubeTools.Result healthy = pgc("promote", "shop", standby, "--yes");
    assertEquals(1, healthy.exit(), healthy.output());
    assertEquals("error: primary " + primary + " of shop is healthy (Healthy): use kubectl pgc switchover shop --to "
        + standby + ", or add --force (done as a switchover while the primary answers: nothing is lost); nothing"
        + " changed", healthy.output().strip());
    assertEquals(before.getSpec().switchover == null ? null : before.getSpec().switchover.id,
        shop.get().getSpec().switchover == null ? null : shop.get().getSpec().switchover.id, "a refusal writes nothing");
    // --force on a healthy primary asks first; an answer other than the pod's name changes nothing.
    KubeTools.Result unconfirmed = pgcWithInput("yes\n", "promote", "shop", standby, "--force");
    assertEquals(1, unconfirmed.exit(), unconfirmed.output());
    assertTrue(unconfirmed.output().contains("primary " + primary + " is healthy: " + standby + " is promoted by a"
        + " switchover"), unconfirmed.output());
    assertTrue(unconfirmed.output().contains("type " + standby + " to promote it: "), unconfirmed.output());
    assertTrue(unconfirmed.output().strip().endsWith("error: not confirmed; nothing changed"), unconfirmed.output());
    assertEquals(before.getSpec().switchover == null ? null : before.getSpec().switchover.id,
        shop.get().getSpec().switchover == null ? null : shop.get().getSpec().switchover.id, "unconfirmed writes nothing");
    KubeTools.Result unknown = pgc("fence", "shop", "shop-9");
    assertEquals(1, unknown.exit());
    assertEquals("error: shop-9 is not an instance of shop (its instances: shop-0, shop-1, shop-2); nothing changed",
        unknown.output().strip());

    String ip = sandbox.podIp(NS, standby);
    Await.until(Duration.ofSeconds(30), standby + " behind -ro", () -> readOnlyEndpoints().contains(ip));
    KubeTools.Result fence = pgc("fence", "shop", standby);
    assertEquals(0, fence.exit(), fence.output());
    assertTrue(fence.output().contains(standby + " leaves -ro"), fence.output());
    assertTrue(fence.output().contains("done: the status shows " + standby + " fenced"), fence.output());
    assertEquals("[\"" + standby + "\"]", shop.get().getMetadata().getAnnotations().get("pgcluster.dev/fenced-instances"));
    Await.until(Duration.ofSeconds(30), standby + " out of -ro", () -> !readOnlyEndpoints().contains(ip));
    assertEquals("fenced", sandbox.client().pods().inNamespace(NS).withName(standby).get().getMetadata().getLabels()
        .get("pgcluster.dev/role"));
    var degraded = Await.until(Duration.ofSeconds(30), "Degraded InstancesFenced", () -> shop.get().getStatus()
        .conditions.stream().filter(c -> "Degraded".equals(c.getType())).findFirst().orElseThrow(),
        c -> "InstancesFenced".equals(c.getReason()));
    assertTrue(degraded.getMessage().contains(standby), degraded.getMessage());
    KubeTools.Result status = pgc("status", "shop");
    assertTrue(status.output().lines().anyMatch(l -> l.startsWith(standby + " ") && l.contains("replica (fenced)")),
        status.output());

    // By hand, unreadable: reported (InvalidSpec names the annotation); the fence in force stays.
    KubeTools.Result annotate = kubectl.kubectl("annotate", "--overwrite", "pgcluster", "shop", "-n", NS,
        "pgcluster.dev/fenced-instances=" + standby);
    assertEquals(0, annotate.exit(), annotate.output());
    var invalid = Await.until(Duration.ofSeconds(30), "the annotation reported", () -> shop.get().getStatus()
        .conditions.stream().filter(c -> "Progressing".equals(c.getType())).findFirst().orElseThrow(),
        c -> c.getMessage() != null && c.getMessage().contains("metadata.annotations[pgcluster.dev/fenced-instances]"));
    assertEquals("InvalidSpec", invalid.getReason(), invalid.getMessage());
    assertEquals(Boolean.TRUE, shop.get().getStatus().instances.stream().filter(i -> i.name.equals(standby))
        .findFirst().orElseThrow().fenced, "an unreadable edit unfences nothing");
    assertEquals("fenced", sandbox.client().pods().inNamespace(NS).withName(standby).get().getMetadata().getLabels()
        .get("pgcluster.dev/role"));
    KubeTools.Result refusedWhileUnreadable = pgc("unfence", "shop", standby);
    assertEquals(1, refusedWhileUnreadable.exit(), refusedWhileUnreadable.output());
    assertTrue(refusedWhileUnreadable.output().contains("fix or remove the annotation first; nothing changed"),
        refusedWhileUnreadable.output());
    assertEquals(0, kubectl.kubectl("annotate", "--overwrite", "pgcluster", "shop", "-n", NS,
        "pgcluster.dev/fenced-instances=[\"" + standby + "\"]").exit());

    KubeTools.Result unfence = pgc("unfence", "shop", standby);
    assertEquals(0, unfence.exit(), unfence.output());
    assertNull(shop.get().getMetadata().getAnnotations().get("pgcluster.dev/fenced-instances"),
        "the last unfenced pod removes the annotation");
    Await.until(Duration.ofSeconds(30), standby + " behind -ro again", () -> readOnlyEndpoints().contains(ip));
    Await.until(Duration.ofSeconds(30), "Healthy", () -> shop.get().getStatus().phase
        == dev.pgcluster.operator.api.v1alpha1.ClusterPhase.Healthy);

    // Confirmed by typing the pod's name, --force on a healthy primary is a switchover (force not armed).
    KubeTools.Result confirmed = pgcWithInput(standby + "\n", "promote", "shop", standby, "--force");
    assertEquals(0, confirmed.exit(), confirmed.output());
    assertTrue(confirmed.output().contains("switchover ") && confirmed.output().contains(primary + " -> " + standby),
        confirmed.output());
    PgCluster after = Await.until(Duration.ofSeconds(120), standby + " the primary", shop::get,
        c -> standby.equals(c.getStatus().currentPrimary));
    assertTrue(after.getSpec().switchover.force == null || !after.getSpec().switchover.force,
        "no force left armed: " + after.getSpec().switchover.force);
  }

  /** The addresses the -ro Service's EndpointSlices list as ready. */
  private Set<String> readOnlyEndpoints() {
    Set<String> ips = new TreeSet<>();
    sandbox.client().discovery().v1().endpointSlices().inNamespace(NS)
        .withLabel("kubernetes.io/service-name", "shop-ro").list().getItems()
        .forEach(slice -> slice.getEndpoints().stream()
            .filter(e -> e.getConditions() == null || !Boolean.FALSE.equals(e.getConditions().getReady()))
            .forEach(e -> ips.addAll(e.getAddresses())));
    return ips;
  }

  private Map<String, String> uids() {
    Map<String, String> uids = new HashMap<>();
    sandbox.client().pods().inNamespace(NS).withLabel("pgcluster.dev/cluster", "shop").list().getItems()
        .forEach(p -> uids.put(p.getMetadata().getName(), p.getMetadata().getUid()));
    return uids;
  }
}
