package dev.pgcluster.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.operator.observe.FencedInstances;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class FenceEditTest {

  static PgCluster fenced(String value) {
    PgCluster cluster = SwitchoverCheckTest.cluster();
    if (value != null) {
      cluster.getMetadata().setAnnotations(Map.of(FencedInstances.ANNOTATION, value));
    }
    return cluster;
  }

  @Test
  void fencingAddsAndUnfencingRemovesNames() {
    assertEquals("[\"pg-1\"]", FenceEdit.next(fenced(null), List.of("pg-1"), true));
    assertEquals("[\"pg-0\",\"pg-1\"]", FenceEdit.next(fenced("[\"pg-1\"]"), List.of("pg-0"), true));
    assertEquals("[\"*\"]", FenceEdit.next(fenced("[\"pg-1\"]"), List.of("*"), true));
    assertNull(FenceEdit.next(fenced("[\"pg-1\"]"), List.of("pg-1"), false), "nothing left: the annotation goes");
    assertEquals("[\"pg-0\",\"pg-2\"]", FenceEdit.next(fenced("[\"*\"]"), List.of("pg-1"), false));
    assertNull(FenceEdit.next(fenced("[\"pg-0\",\"pg-2\"]"), List.of("*"), false));
  }

  @Test
  void refusesUnknownPodsAndAnUnreadableAnnotation() {
    assertEquals("pg-7 is not an instance of pg (its instances: pg-0, pg-1, pg-2)",
        FenceEdit.refusal(fenced(null), List.of("pg-1", "pg-7")).orElseThrow());
    assertTrue(FenceEdit.refusal(fenced("pg-1"), List.of("pg-1")).orElseThrow().endsWith(
        "got pg-1: fix or remove the annotation first"));
    assertEquals(Optional.empty(), FenceEdit.refusal(fenced(null), List.of("*")));
  }

  @Test
  void saysWhatFencingMeansAndWhenTheStatusShowsIt() {
    PgCluster cluster = fenced(null);
    assertTrue(FenceEdit.meaning(cluster, "pg-0").startsWith("pg-0 is the primary: it takes no new write transactions"));
    assertTrue(FenceEdit.meaning(cluster, "pg-1").startsWith("pg-1 leaves -ro"));
    assertFalse(FenceEdit.shown(cluster, List.of("pg-1"), true));
    assertTrue(FenceEdit.shown(cluster, List.of("pg-1"), false));
    cluster.getStatus().instances.get(1).fenced = true;
    assertTrue(FenceEdit.shown(cluster, List.of("pg-1"), true));
    assertFalse(FenceEdit.shown(cluster, List.of("*"), true), "pg-0 and pg-2 are not fenced");
  }
}
