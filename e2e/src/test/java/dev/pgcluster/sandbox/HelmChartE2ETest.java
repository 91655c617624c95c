package dev.pgcluster.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;


import dev.pgcluster.sandbox.controlplane.ControlPlaneBuild;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The Helm chart by the book, with the pinned helm: lint --strict passes for every combination of values
 * a user may set, the rendered objects follow the values, and bad values fail before anything is
 * installed, naming the field (values.schema.json).
 */
class HelmChartE2ETest {
  static final String CHART = ControlPlaneBuild.repositoryRoot().resolve("helm/pgcluster-operator").toString();

  static Stream<Arguments> combinations() {
    return Stream.of(
        Arguments.of("defaults", List.of()),
        Arguments.of("one replica, no PDB, no metrics Service", List.of("replicaCount=1", "podDisruptionBudget.enabled=false",
            "metrics.service.enabled=false")),
        Arguments.of("ServiceMonitor, overrides, extras", List.of("metrics.serviceMonitor.enabled=true",
            "metrics.serviceMonitor.labels.release=prom", "fullnameOverride=pgo", "nameOverride=pgop",
            "commonLabels.team=db", "podLabels.tier=control", "extraEnv[0].name=JAVA_OPTS", "extraEnv[0].value=-Xss1m",
            "priorityClassName=system-cluster-critical", "operator.watchNamespaces={db,shop}")),
        Arguments.of("namespaced RBAC", List.of("rbac.scope=namespaced", "operator.watchNamespaces={db,shop}")),
        Arguments.of("alerts and dashboard", List.of("metrics.prometheusRule.enabled=true",
            "metrics.prometheusRule.labels.release=prom", "metrics.prometheusRule.alerts.replicationLag.seconds=60",
            "metrics.grafanaDashboard.enabled=true", "metrics.podMonitor.enabled=true")),
        Arguments.of("no RBAC, existing service account", List.of("rbac.create=false", "serviceAccount.create=false",
            "serviceAccount.name=mine")),
        Arguments.of("text logs, podIP address", List.of("operator.logFormat=text", "operator.httpAddress=podIP")),
        Arguments.of("placement, annotations, two replicas without a PDB", List.of("nodeSelector.pool=system",
            "tolerations[0].key=dedicated", "tolerations[0].operator=Equal", "tolerations[0].value=ops",
            "tolerations[0].effect=NoSchedule", "affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution"
                + "[0].weight=1", "podAnnotations.team=db", "serviceAccount.annotations.azure\\.workload\\.identity/"
                + "client-id=00000000-0000-0000-0000-000000000000", "podDisruptionBudget.enabled=false")));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("combinations")
  void lintsStrictAndRenders(String name, List<String> values) {
    KubeTools.Result lint = KubeTools.helm(args("lint", "--strict", CHART, values));
    assertEquals(0, lint.exit(), lint.output());
    KubeTools.Result template = KubeTools.helm(args("template", "rel", CHART, values));
    assertEquals(0, template.exit(), template.output());
    assertFalse(objects(template.output()).isEmpty());
  }

  @Test
  void theRenderedObjectsFollowTheValues() {
    List<String> values = List.of("metrics.serviceMonitor.enabled=true", "fullnameOverride=pgo", "commonLabels.team=db",
        "podLabels.tier=control", "extraEnv[0].name=JAVA_OPTS", "extraEnv[0].value=-Xss1m",
        "metrics.prometheusRule.enabled=true", "metrics.prometheusRule.alerts.replicationLag.seconds=60",
        "metrics.prometheusRule.alerts.noPrimary.severity=warning", "metrics.grafanaDashboard.enabled=true",
        "metrics.podMonitor.enabled=true", "operator.watchNamespaces={db,shop}");
    List<HasMetadata> objects = objects(KubeTools.helm(args("template", "rel", CHART, values)).output());
    for (HasMetadata o : objects) {
      assertTrue(o.getMetadata().getName().startsWith("pgo"), o.getKind() + " " + o.getMetadata().getName());
      assertEquals("db", o.getMetadata().getLabels().get("team"), o.getKind() + " carries commonLabels");
    }
    Deployment deployment = (Deployment) objects.stream().filter(o -> o instanceof Deployment).findFirst().orElseThrow();
    assertEquals("control", deployment.getSpec().getTemplate().getMetadata().getLabels().get("tier"));
    assertTrue(deployment.getSpec().getTemplate().getSpec().getContainers().get(0).getEnv().stream()
        .anyMatch(e -> e.getName().equals("JAVA_OPTS") && e.getValue().equals("-Xss1m")));
    // The ServiceMonitor selects the metrics Service, and nothing else of the chart's.
    GenericKubernetesResource monitor = (GenericKubernetesResource) objects.stream()
        .filter(o -> o.getKind().equals("ServiceMonitor")).findFirst().orElseThrow();
    @SuppressWarnings("unchecked")
    Map<String, String> selector = (Map<String, String>) ((Map<String, Object>) ((Map<String, Object>) monitor
        .getAdditionalProperties().get("spec")).get("selector")).get("matchLabels");
    List<HasMetadata> selected = objects.stream().filter(o -> o.getKind().equals("Service")
        && o.getMetadata().getLabels().entrySet().containsAll(selector.entrySet())).toList();
    assertEquals(List.of("pgo-metrics"), selected.stream().map(o -> o.getMetadata().getName()).toList());
    // The operator's series name the cluster's namespace and the PostgreSQL instance: the scrape keeps them.
    String monitorYaml = Serialization.asYaml(monitor);
    assertTrue(monitorYaml.contains("honorLabels: true"), monitorYaml);
    // The alerts take their thresholds and severities from the values; the dashboard is the chart's file.
    String rule = Serialization.asYaml(objects.stream().filter(o -> o.getKind().equals("PrometheusRule")).findFirst()
        .orElseThrow());
    assertTrue(rule.contains("pgcluster_instance_lag_seconds > 60"), rule);
    assertTrue(rule.matches("(?s).*alert: \"?PgClusterNoPrimary\"?.*?severity: \"?warning.*"), rule);
    io.fabric8.kubernetes.api.model.ConfigMap dashboard = (io.fabric8.kubernetes.api.model.ConfigMap) objects.stream()
        .filter(o -> o.getKind().equals("ConfigMap") && o.getMetadata().getName().equals("pgo-dashboard")).findFirst()
        .orElseThrow();
    assertEquals("1", dashboard.getMetadata().getLabels().get("grafana_dashboard"));
    assertEquals(Serialization.unmarshal(readDashboard(), Map.class),
        Serialization.unmarshal(dashboard.getData().get("pgcluster-operator.json"), Map.class));
    assertPodMonitorSelectsTheInstances(objects.stream().filter(o -> o.getKind().equals("PodMonitor")).findFirst()
        .orElseThrow());
    // Two replicas by default: a PodDisruptionBudget keeps one through a drain.
    assertTrue(objects.stream().anyMatch(o -> o.getKind().equals("PodDisruptionBudget")));
    assertTrue(objects(KubeTools.helm(args("template", "rel", CHART, List.of("replicaCount=1"))).output()).stream()
        .noneMatch(o -> o.getKind().equals("PodDisruptionBudget")), "no PDB for a single replica");
  }

  /**
   * The PodMonitor against what the operator renders: it selects an instance pod (and not a pooler pod)
   * in the watched namespaces, on a port the agent container declares, and sets the job the
   * PgClusterInstanceDown alert reads.
   */
  @SuppressWarnings("unchecked")
  private static void assertPodMonitorSelectsTheInstances(HasMetadata podMonitor) {
    Map<String, Object> spec = (Map<String, Object>) ((GenericKubernetesResource) podMonitor)
        .getAdditionalProperties().get("spec");
    Map<String, Object> selector = (Map<String, Object>) spec.get("selector");
    Map<String, String> matchLabels = (Map<String, String>) selector.get("matchLabels");
    List<Map<String, Object>> expressions = (List<Map<String, Object>>) selector.get("matchExpressions");
    dev.pgcluster.operator.api.v1alpha1.PgCluster cluster = new dev.pgcluster.operator.api.v1alpha1.PgCluster();
    cluster.setMetadata(new io.fabric8.kubernetes.api.model.ObjectMetaBuilder().withName("shop").withNamespace("db")
        .withUid("u").build());
    cluster.setSpec(new dev.pgcluster.operator.api.v1alpha1.PgClusterSpec());
    cluster.getSpec().instances = 2;
    cluster.getSpec().storage = new dev.pgcluster.operator.api.v1alpha1.StorageSpec();
    cluster.getSpec().storage.size = "1Gi";
    cluster.getSpec().pooler = new dev.pgcluster.operator.api.v1alpha1.PoolerSpec();
    var template = dev.pgcluster.operator.render.StatefulSetRenderer.render(cluster).getSpec().getTemplate();
    Map<String, String> instanceLabels = template.getMetadata().getLabels();
    Map<String, String> poolerLabels = dev.pgcluster.operator.render.PoolerRenderer.podLabels(cluster,
        dev.pgcluster.operator.render.PoolerRenderer.Target.READ_WRITE);
    java.util.function.Predicate<Map<String, String>> selects = labels ->
        labels.entrySet().containsAll(matchLabels.entrySet())
            && expressions.stream().allMatch(e -> e.get("operator").equals("Exists") && labels.containsKey(e.get("key")));
    assertTrue(selects.test(instanceLabels), "selects an instance pod: " + matchLabels + " " + expressions);
    assertFalse(selects.test(poolerLabels), "does not select a pooler pod: " + poolerLabels);
    assertEquals(List.of("db", "shop"), ((Map<String, Object>) spec.get("namespaceSelector")).get("matchNames"));
    List<Map<String, Object>> endpoints = (List<Map<String, Object>>) spec.get("podMetricsEndpoints");
    assertEquals(1, endpoints.size());
    Object port = endpoints.get(0).get("port");
    assertTrue(template.getSpec().getContainers().stream()
        .filter(c -> c.getName().equals(dev.pgcluster.operator.render.StatefulSetRenderer.AGENT_CONTAINER))
        .flatMap(c -> c.getPorts().stream()).anyMatch(p -> p.getName().equals(port)
            && p.getContainerPort() == dev.pgcluster.operator.agent.InstanceMetrics.PORT),
        "the agent container declares the port " + port);
    List<Map<String, Object>> relabelings = (List<Map<String, Object>>) endpoints.get(0).get("relabelings");
    assertTrue(relabelings.stream().anyMatch(r -> "job".equals(r.get("targetLabel"))
        && "pgcluster-instances".equals(r.get("replacement"))), "the job InstanceDown reads: " + relabelings);
    for (String label : List.of("cluster", "namespace", "pod", "instance")) {
      assertTrue(relabelings.stream().anyMatch(r -> label.equals(r.get("targetLabel"))), label + ": " + relabelings);
    }
  }

  /** The chart installs on the oldest Kubernetes its CRDs' rules compile on, and refuses an older one. */
  @Test
  void anOlderKubernetesIsRefusedBeforeAnythingIsInstalled() {
    KubeTools.Result old = KubeTools.helm("template", "rel", CHART, "--kube-version", "1.28.9");
    assertNotEquals(0, old.exit(), old.output());
    assertTrue(old.output().contains("chart requires kubeVersion: >=1.29.0-0"), old.output());
    KubeTools.Result minimum = KubeTools.helm("template", "rel", CHART, "--kube-version", "1.29.0");
    assertEquals(0, minimum.exit(), minimum.output());
  }

  static Stream<Arguments> badValues() {
    return Stream.of(
        Arguments.of(List.of("replicaCount=two"), "/replicaCount': got string, want integer"),
        Arguments.of(List.of("replicaCuont=2"), "additional properties 'replicaCuont' not allowed"),
        Arguments.of(List.of("operator.logLevel=LOUD"), "/operator/logLevel"),
        Arguments.of(List.of("operator.httpPort=70000"), "/operator/httpPort"),
        Arguments.of(List.of("metrics.serviceMonitor.interval=often"), "/metrics/serviceMonitor/interval"),
        Arguments.of(List.of("rbac.scope=global"), "/rbac/scope"),
        Arguments.of(List.of("tolerations[0].key=dedicated", "tolerations[0].operator=Maybe"),
            "/tolerations/0/operator"),
        Arguments.of(List.of("affinity.nodeAfinity.x=1"), "additional properties 'nodeAfinity' not allowed"),
        Arguments.of(List.of("rbac.scope=namespaced"), "rbac.scope namespaced needs operator.watchNamespaces"),
        Arguments.of(List.of("metrics.prometheusRule.alerts.noPrimary.severity=page"),
            "/metrics/prometheusRule/alerts/noPrimary/severity"),
        Arguments.of(List.of("metrics.prometheusRule.alerts.failover.window=soon"),
            "/metrics/prometheusRule/alerts/failover/window"),
        Arguments.of(List.of("metrics.serviceMonitor.enabled=true", "metrics.service.enabled=false"),
            "metrics.serviceMonitor.enabled needs metrics.service.enabled"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("badValues")
  void badValuesFailNamingTheField(List<String> values, String expected) {
    KubeTools.Result template = KubeTools.helm(args("template", "rel", CHART, values));
    assertNotEquals(0, template.exit(), template.output());
    assertTrue(template.output().contains(expected), template.output());
  }

  private static String readDashboard() {
    try {
      return java.nio.file.Files.readString(java.nio.file.Path.of(CHART, "files", "dashboard.json"));
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static String[] args(String command, String first, String second, List<String> values) {
    List<String> out = new ArrayList<>(List.of(command, first));
    if (second != null) {
      out.add(second);
    }
    values.forEach(v -> out.addAll(List.of("--set", v)));
    return out.toArray(String[]::new);
  }

  private static List<HasMetadata> objects(String yaml) {
    List<HasMetadata> out = new ArrayList<>();
    for (String document : yaml.split("(?m)^---\\s*$")) {
      if (document.lines().anyMatch(l -> l.startsWith("kind:"))) {
        out.add(Serialization.unmarshal(document, HasMetadata.class));
      }
    }
    return out;
  }
}
