package dev.pgcluster.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.sandbox.controlplane.ControlPlaneBuild;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The Argo CD health check of docs/monitoring.md, taken from the page as written and run with Lua on the
 * PgCluster objects the operator writes in the sandbox: Progressing while the cluster is created and
 * until a new generation is observed, Healthy once every instance is ready, Degraded with the operator's
 * message when an instance is lost or the spec is invalid.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ArgoHealthCheckE2ETest {
  static final String NS = "default";
  static final Duration READY = Duration.ofSeconds(180);
  static final ObjectMapper JSON = new ObjectMapper();
  static final String SNIPPET = snippet();

  Sandbox sandbox;
  SandboxCluster argo;

  record Health(String status, String message) {}

  @BeforeAll
  void start() throws Exception {
    sandbox = Sandbox.start();
    sandbox.installOperator();
  }

  @AfterAll
  void stop() {
    SandboxCluster.closeAndCheckNoLeftovers(sandbox);
  }

  @Test
  @Order(1)
  void progressingWhileCreatedThenHealthy() throws Exception {
    sandbox.apply(NS, """
        apiVersion: pgcluster.dev/v1alpha1
        kind: PgCluster
        metadata:
          name: argo
        spec:
          instances: 2
          storage:
            size: 1Gi
        """);
    argo = new SandboxCluster(sandbox, NS, "argo");
    List<String> seen = new ArrayList<>();
    Health health = Await.until(READY, "the check saying Healthy", () -> {
      Health h = health(argo.get());
      if (seen.isEmpty() || !seen.get(seen.size() - 1).equals(h.status())) {
        seen.add(h.status());
      }
      return h;
    }, h -> h.status().equals("Healthy"));
    assertEquals("Progressing", seen.get(0), "first: " + seen);
    assertEquals(List.of("Progressing", "Healthy"), seen, "no Degraded or Unknown while it is created");
    assertEquals("2 instances ready, primary argo-0", health.message());
  }

  @Test
  @Order(2)
  void aNewGenerationIsProgressingUntilTheOperatorHasSeenIt() throws Exception {
    PgCluster edited = sandbox.editCluster(NS, "argo", c -> {
      c.getSpec().postgresql.parameters.put("work_mem", "8MB");
      return c;
    });
    Health right = health(edited);  // as the API server answered the update: status of the last generation
    assertEquals("Progressing", right.status(), right.message());
    assertEquals("the operator has not seen generation " + edited.getMetadata().getGeneration() + " yet",
        right.message());
    Await.until(READY, "Healthy again", () -> health(argo.get()), h -> h.status().equals("Healthy"));
  }

  @Test
  @Order(3)
  void aLostInstanceIsDegradedWithTheOperatorsMessageUntilItIsBack() throws Exception {
    sandbox.loseNode(NS, "argo-1");
    try {
      Health degraded = Await.until(READY, "the check saying Degraded", () -> health(argo.get()),
          h -> h.status().equals("Degraded"));
      assertTrue(degraded.message().startsWith("Degraded: "), degraded.message());
      assertTrue(degraded.message().contains("argo-1"), "names the instance: " + degraded.message());
    } finally {
      sandbox.restoreLostNodes();
    }
    Await.until(READY, "Healthy again", () -> health(argo.get()), h -> h.status().equals("Healthy"));
  }

  @Test
  @Order(4)
  void anInvalidSpecIsDegradedWithTheReason() throws Exception {
    sandbox.editCluster(NS, "argo", c -> {
      c.getSpec().postgresql.parameters.put("port", "5433");
      return c;
    });
    Health invalid = Await.until(Duration.ofSeconds(60), "the check saying Degraded", () -> health(argo.get()),
        h -> h.status().equals("Degraded"));
    assertTrue(invalid.message().startsWith("Invalid: "), invalid.message());
    assertTrue(invalid.message().contains("postgresql.parameters.port is managed by the operator"), invalid.message());
    sandbox.editCluster(NS, "argo", c -> {
      c.getSpec().postgresql.parameters.remove("port");
      return c;
    });
    Await.until(READY, "Healthy again", () -> health(argo.get()), h -> h.status().equals("Healthy"));
  }

  /** The Lua of the docs' argocd-cm example, its YAML block indentation removed. */
  static String snippet() {
    try {
      List<String> lines = Files.readAllLines(ControlPlaneBuild.repositoryRoot().resolve("docs/monitoring.md"));
      int start = lines.indexOf("  resource.customizations.health.pgcluster.dev_PgCluster: |");
      assertTrue(start >= 0, "docs/monitoring.md holds the health check");
      StringBuilder lua = new StringBuilder();
      for (String line : lines.subList(start + 1, lines.size())) {
        if (line.startsWith("```")) {
          break;
        }
        lua.append(line.isEmpty() ? "" : line.substring(4)).append('\n');
      }
      return lua.toString();
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /** Runs the check as Argo CD does: the object as the global obj, the script's returned table read. */
  static Health health(PgCluster cluster) throws Exception {
    JsonNode obj = JSON.readTree(io.fabric8.kubernetes.client.utils.Serialization.asJson(cluster));
    String program = "obj = " + lua(obj) + "\nlocal function check()\n" + SNIPPET + "end\n"
        + "local hs = check()\nio.write(hs.status, \"\\n\", hs.message or \"\", \"\\n\")\n";
    Path file = Files.createTempFile("argo-health", ".lua");
    try {
      Files.writeString(file, program);
      Process lua = new ProcessBuilder("lua5.4", file.toString()).redirectErrorStream(true).start();
      String out = new String(lua.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertTrue(lua.waitFor(10, TimeUnit.SECONDS));
      assertEquals(0, lua.exitValue(), out + "\n" + program);
      String[] parts = out.split("\n", -1);
      return new Health(parts[0], parts.length > 1 ? parts[1] : "");
    } finally {
      Files.deleteIfExists(file);
    }
  }

  /** A JSON value as a Lua table constructor, as Argo CD hands objects to health checks. */
  static String lua(JsonNode node) {
    if (node.isObject()) {
      StringBuilder out = new StringBuilder("{");
      for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> field = it.next();
        if (!field.getValue().isNull()) {
          out.append('[').append(quote(field.getKey())).append("]=").append(lua(field.getValue())).append(',');
        }
      }
      return out.append('}').toString();
    }
    if (node.isArray()) {
      StringBuilder out = new StringBuilder("{");
      node.forEach(item -> out.append(lua(item)).append(','));
      return out.append('}').toString();
    }
    if (node.isTextual()) {
      return quote(node.asText());
    }
    return node.isNull() ? "nil" : node.toString();
  }

  private static String quote(String s) {
    return '"' + s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n").replace("\r", "\\r") + '"';
  }
}
