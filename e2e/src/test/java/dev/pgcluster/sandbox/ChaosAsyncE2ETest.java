package dev.pgcluster.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.pgcluster.sandbox.net.PodNetwork;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The chaos suite, asynchronous half: the same writer and checker on an asynchronous cluster, where a
 * failover may lose what the former primary acknowledged and did not send. What it loses must be
 * reported: after every failover, the acknowledged writes lost so far are no more than the transactions
 * the failover records ({@code status.lastPrimaryChange.rewind}) say pg_rewind discarded. Never two
 * writable primaries.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ChaosAsyncE2ETest {
  static final String NS = "default";
  Sandbox sandbox;
  ChaosHarness harness;
  ChaosRounds rounds;

  @BeforeAll
  void startClusterWriterAndChecker() throws Exception {
    SandboxCluster cluster = SandboxCluster.start(NS, """
        apiVersion: pgcluster.dev/v1alpha1
        kind: PgCluster
        metadata:
          name: chaos-async
        spec:
          instances: 3
          storage:
            size: 1Gi
          replication:
            mode: async
        """, 3, ChaosRounds.HEAL);
    sandbox = cluster.sandbox;
    harness = new ChaosHarness(cluster);
    harness.start();
    rounds = new ChaosRounds(cluster, harness, true);
  }

  @AfterAll
  void stop() throws Exception {
    if (rounds != null) {
      rounds.tally().forEach(System.out::println);
    }
    if (harness != null) {
      harness.close();
    }
    SandboxCluster.closeAndCheckNoLeftovers(sandbox);
  }

  @Test
  @Order(1)
  void faultsOnTheAsynchronousPrimary() throws Exception {
    rounds.rounds("async: node lost (silent)", 4, primary -> sandbox.loseNode(NS, primary));
    rounds.rounds("async: primary cut off from the API server", 4,
        rounds.partitionUntilFailover(p -> new PodNetwork.Peer[] {sandbox.apiServer()}));
    rounds.rounds("async: primary cut off from everything", 2,
        rounds.partitionUntilFailover(p -> new PodNetwork.Peer[] {new PodNetwork.Peer.Everything()}));
    rounds.rounds("async: postgres SIGKILL", 3, primary -> sandbox.killContainer(NS, primary, "postgres"));
    rounds.rounds("async: frozen (SIGSTOP), thawed after failover", 2, primary -> {
      sandbox.freezeContainer(NS, primary, "postgres");
      rounds.awaitFailoverFrom(primary);
      sandbox.thawContainerIfRunning(NS, primary, "postgres");
    });
    assertEquals(15, rounds.faults());
  }
}
