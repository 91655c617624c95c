package dev.pgcluster.operator.reconcile;

import dev.pgcluster.operator.api.v1alpha1.PgCluster;

/** What the actuator asks of the pooler while the primary moves; does nothing for a cluster without one. */
public interface PoolerHold {
  /** A switchover: let queries in flight finish, then make new ones wait. */
  void pause(PgCluster cluster, String why);

  /** A failover: drop every pooled connection to the former primary now; new ones wait. */
  void disconnect(PgCluster cluster, String why);

  /** The move was called off: let clients through again. */
  void release(PgCluster cluster, String why);

  PoolerHold NONE = new PoolerHold() {
    @Override
    public void pause(PgCluster cluster, String why) {}

    @Override
    public void disconnect(PgCluster cluster, String why) {}

    @Override
    public void release(PgCluster cluster, String why) {}
  };
}
