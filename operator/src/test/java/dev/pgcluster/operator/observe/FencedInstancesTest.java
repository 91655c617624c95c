package dev.pgcluster.operator.observe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgcluster.operator.api.v1alpha1.InstanceStatus;
import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.operator.api.v1alpha1.PgClusterStatus;
import dev.pgcluster.operator.render.TestClusters;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class FencedInstancesTest {

  @ParameterizedTest(name = "[{index}] {0} -> {1}")
  @CsvSource(delimiter = '|', textBlock = """
      ''                     | ''
      '[]'                   | ''
      '["pg-1"]'             | pg-1
      '["pg-2", "pg-0"]'     | pg-0,pg-2
      '["*"]'                | pg-0,pg-1,pg-2
      '["pg-7"]'             | pg-7
      """)
  void readsTheListOfPodNames(String value, String expected) {
    FencedInstances.Parsed parsed = FencedInstances.parse(cluster(value));
    assertNull(parsed.problem());
    assertEquals(expected.isEmpty() ? Set.of() : Set.of(expected.split(",")), parsed.pods());
  }

  @ParameterizedTest(name = "[{index}] {0}")
  @CsvSource(delimiter = '|', textBlock = """
      'pg-1'
      '{"pg-1": true}'
      '[1]'
      '["PG_1"]'
      '["pg-1"'
      """)
  void anUnreadableValueIsAProblemThatNamesTheAnnotation(String value) {
    PgCluster cluster = cluster(value);
    FencedInstances.Parsed parsed = FencedInstances.parse(cluster);
    assertTrue(parsed.problem().startsWith("metadata.annotations[pgcluster.dev/fenced-instances]: expected a JSON list"
        + " of pod names such as [\"pg-1\"] or [\"*\"], got "), parsed.problem());
    assertEquals(Set.of(), parsed.pods());
    // Meanwhile the fence the status last reported stays: an unreadable edit unfences nothing.
    cluster.setStatus(new PgClusterStatus());
    InstanceStatus fenced = new InstanceStatus();
    fenced.name = "pg-1";
    fenced.fenced = true;
    InstanceStatus other = new InstanceStatus();
    other.name = "pg-0";
    cluster.getStatus().instances = List.of(other, fenced);
    assertEquals(Set.of("pg-1"), FencedInstances.effective(cluster));
  }

  private static PgCluster cluster(String value) {
    PgCluster cluster = TestClusters.cluster("pg", 3);
    if (!value.isEmpty()) {
      cluster.getMetadata().setAnnotations(Map.of(FencedInstances.ANNOTATION, value));
    }
    return cluster;
  }
}
