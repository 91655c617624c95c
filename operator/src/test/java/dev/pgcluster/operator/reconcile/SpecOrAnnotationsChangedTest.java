package dev.pgcluster.operator.reconcile;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.operator.api.v1alpha1.PgClusterStatus;
import dev.pgcluster.operator.render.TestClusters;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Which updates of a PgCluster are reconciled at once: not the operator's own status writes. */
class SpecOrAnnotationsChangedTest {
  private final SpecOrAnnotationsChanged filter = new SpecOrAnnotationsChanged();

  @Test
  void aNewGenerationAnAnnotationOrADeletionIsReconciledAStatusWriteIsNot() {
    PgCluster before = TestClusters.cluster("pg", 2);
    PgCluster status = TestClusters.cluster("pg", 2);
    status.setStatus(new PgClusterStatus());
    assertFalse(filter.accept(status, before), "the operator's own status write");

    PgCluster spec = TestClusters.cluster("pg", 3);
    spec.getMetadata().setGeneration(2L);
    assertTrue(filter.accept(spec, before), "a spec change (new generation)");

    PgCluster fenced = TestClusters.cluster("pg", 2);
    fenced.getMetadata().setAnnotations(Map.of("pgcluster.dev/fenced-instances", "[\"pg-1\"]"));
    assertTrue(filter.accept(fenced, before), "an annotation (same generation)");

    PgCluster deleted = TestClusters.cluster("pg", 2);
    deleted.getMetadata().setDeletionTimestamp("2026-12-07T17:00:00Z");
    assertTrue(filter.accept(deleted, before), "a deletion");
  }
}
