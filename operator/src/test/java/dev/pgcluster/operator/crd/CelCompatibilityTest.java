package dev.pgcluster.operator.crd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The oldest Kubernetes the CRDs install on (README, install.md, the chart's kubeVersion): every function
 * their CEL rules call must be in the CEL environment of that API server. An API server compiles new
 * rules against the environment of the release before its own (its compatibility version), so 1.29
 * accepts what the 1.28 environment has (k8s.io/apiserver pkg/cel/environment/base.go: the quantity
 * library and optional types came in 1.28; CRD validation rules are GA in 1.29).
 */
class CelCompatibilityTest {
  static final String MINIMUM_KUBERNETES = "1.29";
  static final int ENVIRONMENT = 28;

  /** Functions and macros by the environment version that brought them. */
  static final Map<String, Integer> INTRODUCED = new TreeMap<>(Map.ofEntries(
      // CEL core, macros and the 1.0 Kubernetes libraries.
      Map.entry("has", 0), Map.entry("all", 0), Map.entry("exists", 0), Map.entry("exists_one", 0),
      Map.entry("map", 0), Map.entry("filter", 0), Map.entry("size", 0), Map.entry("matches", 0),
      Map.entry("startsWith", 0), Map.entry("endsWith", 0), Map.entry("contains", 0), Map.entry("int", 0),
      Map.entry("string", 0), Map.entry("duration", 0), Map.entry("timestamp", 0), Map.entry("lowerAscii", 0),
      Map.entry("upperAscii", 0), Map.entry("split", 0), Map.entry("isSorted", 0), Map.entry("url", 0),
      Map.entry("find", 0), Map.entry("findAll", 0),
      // 1.28: quantity library, optional types.
      Map.entry("quantity", 28), Map.entry("isQuantity", 28), Map.entry("compareTo", 28),
      Map.entry("isGreaterThan", 28), Map.entry("isLessThan", 28), Map.entry("orValue", 28),
      Map.entry("hasValue", 28),
      // Later ones: a rule calling them would not install on the stated minimum.
      Map.entry("ip", 30), Map.entry("cidr", 30), Map.entry("isIP", 30), Map.entry("isCIDR", 30),
      Map.entry("format", 31), Map.entry("semver", 33), Map.entry("isSemver", 33)));

  private static final Pattern CALL = Pattern.compile("([A-Za-z_][A-Za-z0-9_]*)\\s*\\(");

  @Test
  void everyRuleCallsOnlyWhatTheMinimumKubernetesCompiles() throws Exception {
    List<String> rules = new ArrayList<>();
    try (Stream<Path> crds = Files.list(Path.of("../crds"))) {
      for (Path crd : crds.filter(p -> p.toString().endsWith(".yml")).sorted().toList()) {
        collect(new ObjectMapper(new YAMLFactory()).readTree(crd.toFile()), rules);
      }
    }
    assertFalse(rules.isEmpty(), "the CRDs have CEL rules");
    List<String> problems = new ArrayList<>();
    for (String rule : rules) {
      Matcher call = CALL.matcher(rule.replaceAll("'[^']*'", "''"));
      while (call.find()) {
        Integer since = INTRODUCED.get(call.group(1));
        if (since == null) {
          problems.add(call.group(1) + " (not known to this test: look it up in base.go and add it): " + rule);
        } else if (since > ENVIRONMENT) {
          problems.add(call.group(1) + " needs Kubernetes 1." + (since + 1) + ", not " + MINIMUM_KUBERNETES + ": " + rule);
        }
      }
    }
    assertEquals(List.of(), problems);
  }

  @Test
  void theChartAndTheDocsStateTheSameMinimum() throws Exception {
    String chart = Files.readString(Path.of("../helm/pgcluster-operator/Chart.yaml"));
    assertEquals(true, chart.contains("kubeVersion: \">=" + MINIMUM_KUBERNETES + ".0-0\""), chart);
    for (String doc : List.of("../README.md", "../docs/install.md")) {
      assertEquals(true, Files.readString(Path.of(doc)).contains("Kubernetes " + MINIMUM_KUBERNETES + " or newer"), doc);
    }
  }

  private static void collect(JsonNode node, List<String> rules) {
    if (node.isObject()) {
      JsonNode validations = node.get("x-kubernetes-validations");
      if (validations != null) {
        validations.forEach(v -> rules.add(v.path("rule").asText()));
      }
      node.forEach(child -> collect(child, rules));
    } else if (node.isArray()) {
      node.forEach(child -> collect(child, rules));
    }
  }
}
