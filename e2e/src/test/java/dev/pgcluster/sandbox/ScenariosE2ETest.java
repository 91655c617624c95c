package dev.pgcluster.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.sandbox.scenario.Narrator;
import dev.pgcluster.sandbox.scenario.Scenario;
import dev.pgcluster.sandbox.scenario.Scenarios;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every scenario of bin/pgcluster-sandbox scenario: it must turn out as it narrates (each of its checks
 * held) and say so in its summary. One sandbox for all of them (each creates clusters of its own names,
 * removed after it), where the command starts a fresh one per scenario.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ScenariosE2ETest {
  Sandbox sandbox;

  @BeforeAll
  void start() throws Exception {
    sandbox = Sandbox.start();
    sandbox.installOperator();
  }

  @AfterAll
  void stop() {
    SandboxCluster.closeAndCheckNoLeftovers(sandbox);
  }

  @AfterEach
  void removeTheScenariosClusters() throws Exception {
    sandbox.restoreLostNodes();
    sandbox.client().resources(PgCluster.class).inAnyNamespace().delete();
    Await.until(Duration.ofSeconds(120), "the scenario's pods gone", () -> sandbox.client().pods()
        .inAnyNamespace().withLabel("pgcluster.dev/cluster").list().getItems().isEmpty());
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"sync-blocks", "async-loss", "delayed-standby", "manual-failover", "failure-detection",
      "strong-quorum", "active-active"})
  void theScenarioTurnsOutAsNarrated(String name) {
    Scenario scenario = Scenarios.named(name).orElseThrow();
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    PrintStream tee = new PrintStream(new java.io.OutputStream() {
      @Override
      public void write(int b) {
        bytes.write(b);
        System.out.write(b);
      }
    }, true, StandardCharsets.UTF_8);
    boolean passed = Scenarios.run(scenario, sandbox, tee);
    String output = bytes.toString(StandardCharsets.UTF_8);
    assertTrue(passed, output);
    assertTrue(output.contains("The scenario showed what it set out to show."), output);
    assertTrue(output.lines().anyMatch(l -> l.startsWith("CHECK ")), "a summary table: " + output);
  }

  @Test
  void everyScenarioIsTestedAndAnUnknownOneListsThem() throws Exception {
    assertEquals(List.of("sync-blocks", "async-loss", "delayed-standby", "manual-failover", "failure-detection",
        "strong-quorum", "active-active"),
        Scenarios.ALL.stream().map(Scenario::name).toList());
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    assertEquals(2, Scenarios.main(List.of("nosuch"), new PrintStream(bytes, true, StandardCharsets.UTF_8)));
    String out = bytes.toString(StandardCharsets.UTF_8);
    assertTrue(out.contains("error: no scenario nosuch") && out.contains("sync-blocks"), out);
    Narrator empty = new Narrator(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
    assertTrue(!empty.passed(), "a scenario that checked nothing did not pass");
  }
}
