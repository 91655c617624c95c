package dev.pgcluster.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ThreeInstancesE2ETest {
  static final String NS = "default";
  Sandbox sandbox;

  @BeforeAll
  void start() throws Exception {
    sandbox = Sandbox.start();
    sandbox.startOperator("operator-a");
    sandbox.apply(NS, """
        apiVersion: pgcluster.dev/v1alpha1
        kind: PgCluster
        metadata:
          name: demo
        spec:
          instances: 3
          storage:
            size: 1Gi
        """);
  }

  @AfterAll
  void stop() {
    if (sandbox != null) {
      sandbox.close();
    }
  }

  @Test
  void allInstancesBecomeReady() throws Exception {
    PgCluster ready = Await.until(Duration.ofSeconds(120), "3 ready instances",
        () -> sandbox.client().resources(PgCluster.class).inNamespace(NS).withName("demo").get(),
        c -> c.getStatus() != null && c.getStatus().readyInstances != null && c.getStatus().readyInstances == 3);
    assertEquals("demo-0", ready.getStatus().currentPrimary);
  }
}
