package dev.pgcluster.operator.render;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.fabric8.kubernetes.api.model.Service;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class ServiceRendererTest {

  private final Map<String, Service> services = ServiceRenderer.all(TestClusters.cluster("pg", 3)).stream()
      .collect(Collectors.toMap(s -> s.getMetadata().getName(), Function.identity()));

  @Test
  void readWriteServiceSelectsThePrimary() {
    assertEquals(Map.of(Labels.CLUSTER, "pg", Labels.ROLE, "primary"), services.get("pg-rw").getSpec().getSelector());
  }

  @Test
  void readOnlyServiceSelectsNonDelayedReplicas() {
    assertEquals(Map.of(Labels.CLUSTER, "pg", Labels.ROLE, "replica"), services.get("pg-ro").getSpec().getSelector());
  }

  @Test
  void readAnyServiceSelectsEveryInstance() {
    assertEquals(Map.of(Labels.CLUSTER, "pg"), services.get("pg-r").getSpec().getSelector());
  }

  @Test
  void headlessServiceGovernsTheStatefulSet() {
    assertEquals("None", services.get("pg").getSpec().getClusterIP());
    assertEquals(4, services.size());
    services.values().forEach(s -> assertEquals(5432, s.getSpec().getPorts().get(0).getPort()));
  }
}
