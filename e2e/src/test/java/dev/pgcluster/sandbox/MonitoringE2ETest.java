package dev.pgcluster.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.pgcluster.sandbox.controlplane.ControlPlaneBuild;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The chart's alerts and dashboard, evaluated by a real Prometheus (Debian's {@code prometheus}) that
 * scrapes the operator in the sandbox as the chart's ServiceMonitor would (honor labels): quiet while
 * the cluster is healthy, and firing on a real failover and on a primary lost with failover disabled.
 * The rules are the chart's own PrometheusRule, rendered by helm with shorter "for" durations.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class MonitoringE2ETest {
  static final String NS = "default";
  static final String CHART = ControlPlaneBuild.repositoryRoot().resolve("helm/pgcluster-operator").toString();
  static final ObjectMapper JSON = new ObjectMapper();
  SandboxCluster cluster;
  Sandbox sandbox;
  Process prometheus;
  String prometheusUrl;
  Path work;

  @BeforeAll
  void start() throws Exception {
    cluster = SandboxCluster.start(NS, """
        apiVersion: pgcluster.dev/v1alpha1
        kind: PgCluster
        metadata:
          name: mon
        spec:
          instances: 3
          storage:
            size: 1Gi
          replication:
            mode: sync
            number: 1
        """, 3, Duration.ofSeconds(180));
    sandbox = cluster.sandbox;
    work = Files.createTempDirectory("prometheus");
    Files.writeString(work.resolve("rules.yaml"), renderedRules());
    List<String> targets = sandbox.operatorPods().stream().map(p -> "'" + p.getStatus().getPodIP() + ":8080'").toList();
    writeInstanceTargets();
    Files.writeString(work.resolve("prometheus.yml"), """
        global:
          scrape_interval: 1s
          evaluation_interval: 1s
        rule_files: [rules.yaml]
        scrape_configs:
          - job_name: pgcluster-operator
            honor_labels: true
            static_configs:
              - targets: [%s]
          - job_name: pgcluster-instances
            file_sd_configs:
              - files: [instances.json]
                refresh_interval: 1s
        """.formatted(String.join(", ", targets)));
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    assertTrue(Files.isExecutable(Path.of("/usr/bin/prometheus")), "Prometheus is installed (bin/install-prerequisites)");
    prometheus = new ProcessBuilder("/usr/bin/prometheus", "--config.file=" + work.resolve("prometheus.yml"),
        "--storage.tsdb.path=" + work.resolve("data"), "--web.listen-address=127.0.0.1:" + port, "--log.level=warn")
        .redirectErrorStream(true).redirectOutput(work.resolve("prometheus.log").toFile()).start();
    prometheusUrl = "http://127.0.0.1:" + port;
    Await.untilTrue(Duration.ofSeconds(60), "Prometheus scraping the operator's leader", () ->
        !query("pgcluster_ready_instances{cluster=\"mon\"}").isEmpty());
  }

  /**
   * The instances' agents as the chart's PodMonitor discovers them, with cluster, namespace and pod labels:
   * written again when pods may have moved (a lost node's pods come back with new addresses).
   */
  private void writeInstanceTargets() throws IOException {
    List<Map<String, Object>> groups = new ArrayList<>();
    for (var pod : sandbox.client().pods().inNamespace(NS).withLabel("pgcluster.dev/cluster", "mon").list().getItems()) {
      if (pod.getStatus() != null && pod.getStatus().getPodIP() != null) {
        String name = pod.getMetadata().getName();
        groups.add(Map.of("targets", List.of(pod.getStatus().getPodIP() + ":9187"),
            "labels", Map.of("cluster", "mon", "namespace", NS, "pod", name, "instance", name)));
      }
    }
    Path tmp = work.resolve("instances.json.tmp");
    Files.writeString(tmp, JSON.writeValueAsString(groups));
    Files.move(tmp, work.resolve("instances.json"), java.nio.file.StandardCopyOption.REPLACE_EXISTING,
        java.nio.file.StandardCopyOption.ATOMIC_MOVE);
  }

  @AfterAll
  void stop() throws Exception {
    if (prometheus != null) {
      prometheus.destroy();
      prometheus.waitFor();
      System.out.println(Files.readString(work.resolve("prometheus.log")));
    }
    if (sandbox != null) {
      SandboxCluster.closeAndCheckNoLeftovers(sandbox);
    }
  }

  /** The chart's PrometheusRule, its groups as a rules file; "for" short enough for a test. */
  private static String renderedRules() throws IOException {
    KubeTools.Result rendered = KubeTools.helm("template", "rel", CHART, "--show-only", "templates/prometheusrule.yaml",
        "--set", "metrics.prometheusRule.enabled=true",
        "--set", "metrics.prometheusRule.alerts.noPrimary.for=3s",
        "--set", "metrics.prometheusRule.alerts.instancesNotReady.for=3s",
        "--set", "metrics.prometheusRule.alerts.synchronousStandbysMissing.for=3s",
        "--set", "metrics.prometheusRule.alerts.instanceDown.for=3s");
    assertEquals(0, rendered.exit(), rendered.output());
    ObjectMapper yaml = new ObjectMapper(new YAMLFactory());
    JsonNode rule = yaml.readTree(rendered.output());
    assertEquals("PrometheusRule", rule.path("kind").asText());
    return yaml.writeValueAsString(JSON.createObjectNode().set("groups", rule.path("spec").path("groups")));
  }

  @Test
  @Order(1)
  void aHealthyClusterFiresNothingAndEveryDashboardQueryAnswers() throws Exception {
    Await.untilTrue(Duration.ofSeconds(60), "both synchronous-standby figures scraped", () ->
        !query("pgcluster_synchronous_standbys{cluster=\"mon\"} >= 1").isEmpty()
            && !query("pgcluster_synchronous_standbys_required{cluster=\"mon\"} == 1").isEmpty());
    Thread.sleep(5_000);  // more than any shortened "for": a pending alert would be firing by now
    assertEquals(List.of(), alerts(), "no alert pending or firing on a healthy cluster");
    assertEquals(8, rules().size(), "the chart's eight alerts are loaded: " + rules());
    assertTrue(rules().stream().allMatch(r -> r.path("health").asText().equals("ok")), "every rule evaluates: "
        + rules());

    // Each instance's own exporter (its agent): real figures, the same series at every scrape, no NaN.
    String primary = cluster.get().getStatus().currentPrimary;
    assertEquals(3, query("pgcluster_pg_up{cluster=\"mon\"} == 1").size(), "every instance's PostgreSQL answers");
    JsonNode primaries = query("pgcluster_pg_in_recovery{cluster=\"mon\"} == 0");
    assertEquals(1, primaries.size(), "one instance is not in recovery");
    assertEquals(primary, primaries.get(0).path("metric").path("pod").asText());
    assertEquals("2", value(query("pgcluster_pg_replication_standbys{pod=\"" + primary + "\"}")),
        "two standbys stream from the primary");
    JsonNode connectionSeries = query("count by (pod) (pgcluster_pg_connections{cluster=\"mon\"})");
    assertEquals(3, connectionSeries.size());
    connectionSeries.forEach(r -> assertEquals("5", r.path("value").get(1).asText(), "five connection states"));
    assertTrue(Double.parseDouble(value(query("min(pgcluster_pg_wal_position_bytes{cluster=\"mon\"})"))) > 0);
    assertTrue(Double.parseDouble(value(query("min(pgcluster_pg_max_connections{cluster=\"mon\"})"))) > 0);
    // Figures only a server that answered can give (the series themselves exist from the start).
    assertTrue(Double.parseDouble(value(query("min(pgcluster_pg_transactions_committed_total{cluster=\"mon\"})"))) > 0,
        "transactions committed on every instance");
    assertTrue(Double.parseDouble(value(query("min(pgcluster_pg_database_size_bytes{cluster=\"mon\"})"))) > 1_000_000,
        "databases of a few MB on every instance");
    assertTrue(Double.parseDouble(value(query("pgcluster_pg_wal_written_bytes_total{pod=\"" + primary + "\"}"))) > 0,
        "the primary has written WAL");
    // The instance label joins the exporter's series with the operator's.
    assertEquals(1, query("pgcluster_pg_in_recovery{cluster=\"mon\"} == 0 and on (namespace, cluster, instance)"
        + " pgcluster_instance_primary == 1").size(), "the exporter's primary is the operator's");
    String agent = "http://" + sandbox.podIp(NS, primary) + ":9187/metrics";
    String first = get(agent);
    Thread.sleep(1_000);
    String second = get(agent);
    assertEquals(series(first), series(second), "the same series at every scrape");
    assertTrue(first.lines().noneMatch(l -> !l.startsWith("#") && l.endsWith("NaN")), first);
    assertEquals(25, series(first).size(), "every figure is there: " + series(first));

    JsonNode dashboard = JSON.readTree(Files.readString(Path.of(CHART, "files", "dashboard.json")));
    List<String> empty = new ArrayList<>();
    for (JsonNode panel : dashboard.path("panels")) {
      for (JsonNode target : panel.path("targets")) {
        String expr = target.path("expr").asText().replace("$namespace", ".*").replace("$cluster", ".*");
        JsonNode result = query(expr);  // an expression Prometheus cannot parse fails here
        if (result.isEmpty()) {
          empty.add(panel.path("title").asText());
        }
      }
    }
    // Without spec.backup, spec.pooler and a failover, those panels have nothing to show; all others do.
    assertEquals(List.of("Failover duration", "WAL archiving", "WAL archiving", "Pooler clients", "Pooler longest wait"),
        empty, "dashboard panels without data");
  }

  @Test
  @Order(2)
  void aFailoverFiresTheFailoverAlert() throws Exception {
    String primary = cluster.get().getStatus().currentPrimary;
    sandbox.loseNode(NS, primary);
    try {
      Await.untilTrue(Duration.ofSeconds(120), "PgClusterFailover firing", () -> firing().contains("PgClusterFailover"));
      // The counter moves when the Lease does, before the reconcile writes the status: wait for it too.
      Await.untilTrue(Duration.ofSeconds(60), "a standby promoted in the status",
          () -> !primary.equals(cluster.get().getStatus().currentPrimary));
    } finally {
      sandbox.restoreLostNodes();
    }
    cluster.awaitReadyInstances(3, Duration.ofSeconds(180));
    writeInstanceTargets();
  }

  @Test
  @Order(3)
  void aPrimaryLostWithFailoverDisabledFiresNoPrimaryUntilItIsBack() throws Exception {
    sandbox.editCluster(NS, "mon", c -> {
      c.getSpec().failover.enabled = false;
      return c;
    });
    String primary = cluster.get().getStatus().currentPrimary;
    Set<String> onTheNode = new TreeSet<>();
    String node = sandbox.loseNode(NS, primary);
    for (var pod : sandbox.client().pods().inNamespace(NS).withLabel("pgcluster.dev/cluster", "mon").list().getItems()) {
      if (node.equals(pod.getSpec().getNodeName())) {
        onTheNode.add(pod.getMetadata().getName());
      }
    }
    try {
      // The lost node's agent answers no scrape: InstanceDown by the up series of its job.
      Await.untilTrue(Duration.ofSeconds(90), "PgClusterNoPrimary, PgClusterInstancesNotReady and"
          + " PgClusterInstanceDown firing", () -> firing().containsAll(Set.of("PgClusterNoPrimary",
              "PgClusterInstancesNotReady", "PgClusterInstanceDown")));
      assertTrue(onTheNode.contains(primary));
      Await.untilTrue(Duration.ofSeconds(30), "PgClusterInstanceDown for the lost node's instances only", () ->
          firingPods("PgClusterInstanceDown").equals(onTheNode));
    } finally {
      sandbox.restoreLostNodes();
    }
    cluster.awaitReadyInstances(3, Duration.ofSeconds(180));
    writeInstanceTargets();
    Await.untilTrue(Duration.ofSeconds(60), "PgClusterNoPrimary and PgClusterInstanceDown resolved", () ->
        !firing().contains("PgClusterNoPrimary") && !firing().contains("PgClusterInstanceDown"));
    assertEquals(primary, cluster.get().getStatus().currentPrimary, "no failover while it was disabled");
  }

  private static String value(JsonNode result) {
    assertEquals(1, result.size(), "one row: " + result);
    return result.get(0).path("value").get(1).asText();
  }

  private static String get(String url) throws Exception {
    return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10))
        .build(), HttpResponse.BodyHandlers.ofString()).body();
  }

  private static Set<String> series(String scrape) {
    return scrape.lines().filter(l -> l.startsWith("pgcluster_pg_")).map(l -> l.substring(0, l.lastIndexOf(' ')))
        .collect(Collectors.toCollection(TreeSet::new));
  }

  private Set<String> firing() throws Exception {
    return alerts().stream().filter(a -> a.path("state").asText().equals("firing"))
        .map(a -> a.path("labels").path("alertname").asText()).collect(Collectors.toCollection(TreeSet::new));
  }

  /** The pods an alert fires for. */
  private Set<String> firingPods(String alert) throws Exception {
    return alerts().stream().filter(a -> a.path("state").asText().equals("firing")
        && a.path("labels").path("alertname").asText().equals(alert))
        .map(a -> a.path("labels").path("pod").asText()).collect(Collectors.toCollection(TreeSet::new));
  }

  private List<JsonNode> alerts() throws Exception {
    List<JsonNode> out = new ArrayList<>();
    api("/api/v1/alerts").path("alerts").forEach(out::add);
    return out;
  }

  private List<JsonNode> rules() throws Exception {
    List<JsonNode> out = new ArrayList<>();
    api("/api/v1/rules").path("groups").forEach(g -> g.path("rules").forEach(out::add));
    return out;
  }

  private JsonNode query(String expr) throws Exception {
    return api("/api/v1/query?query=" + URLEncoder.encode(expr, StandardCharsets.UTF_8)).path("result");
  }

  private JsonNode api(String path) throws Exception {
    HttpResponse<String> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(prometheusUrl
        + path)).timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    JsonNode body = JSON.readTree(response.body());
    assertEquals("success", body.path("status").asText(), path + ": " + response.body());
    return body.path("data");
  }
}
