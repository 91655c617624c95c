package dev.pgcluster.operator.reconcile;

import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import io.javaoperatorsdk.operator.processing.event.source.filter.OnUpdateFilter;
import java.util.Objects;

/**
 * Which updates of a PgCluster start a reconcile: a new generation (the spec changed), changed
 * annotations (a fence, a restart: they do not change the generation) or a deletion. Not the
 * operator's own status writes, which would otherwise reconcile once more after each.
 */
public final class SpecOrAnnotationsChanged implements OnUpdateFilter<PgCluster> {
  @Override
  public boolean accept(PgCluster updated, PgCluster previous) {
    return !Objects.equals(updated.getMetadata().getGeneration(), previous.getMetadata().getGeneration())
        || !Objects.equals(updated.getMetadata().getAnnotations(), previous.getMetadata().getAnnotations())
        || (updated.isMarkedForDeletion() && !previous.isMarkedForDeletion());
  }
}
