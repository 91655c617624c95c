package dev.pgcluster.sandbox;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgcluster.sandbox.net.PodNetwork;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The chaos suite, synchronous half: faults on a synchronous cluster (ANY 1 of 2, durability
 * required) under a writer that records every acknowledged commit and a checker that polls every
 * instance's own address for writability: SIGKILL, node loss (silent), freeze/thaw, every network
 * partition, the leading operator killed mid-failover, an API server outage, and a minute of
 * back-to-back faults. After each: no acknowledged commit lost, never two writable primaries, all three
 * instances Ready again with the former primary streaming. {@link ChaosAsyncE2ETest} is the other half.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ChaosE2ETest {
  static final String NS = "default";
  Sandbox sandbox;
  SandboxCluster chaos;
  ChaosHarness harness;
  ChaosRounds rounds;

  @BeforeAll
  void startClusterWriterAndChecker() throws Exception {
    chaos = SandboxCluster.start(NS, """
        apiVersion: pgcluster.dev/v1alpha1
        kind: PgCluster
        metadata:
          name: chaos
        spec:
          instances: 3
          storage:
            size: 1Gi
          replication:
            mode: sync
            number: 1
            durability: required
        """, 3, ChaosRounds.HEAL);
    sandbox = chaos.sandbox;
    harness = new ChaosHarness(chaos);
    harness.start();
    rounds = new ChaosRounds(chaos, harness, false);
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
  void primaryNodeLost() throws Exception {
    rounds.rounds("node lost (silent)", 5, primary -> sandbox.loseNode(NS, primary));
  }

  @Test
  @Order(2)
  void primaryFrozenThenThawedAfterTheFailover() throws Exception {
    rounds.rounds("frozen (SIGSTOP), thawed after failover", 4, primary -> {
      sandbox.freezeContainer(NS, primary, "postgres");
      rounds.awaitFailoverFrom(primary);
      sandbox.thawContainerIfRunning(NS, primary, "postgres");
    });
  }

  @Test
  @Order(3)
  void primaryPostgresKilled() throws Exception {
    rounds.rounds("postgres SIGKILL", 5, primary -> sandbox.killContainer(NS, primary, "postgres"));
  }

  @Test
  @Order(4)
  void operatorKilledInTheMiddleOfAFailover() throws Exception {
    rounds.rounds("node lost + leading operator killed mid-failover", 4, primary -> {
      int epoch = chaos.get().getStatus().primaryEpoch;
      sandbox.loseNode(NS, primary);
      Await.until(Duration.ofSeconds(60), "the Lease moving", () -> sandbox.client().leases().inNamespace(NS)
          .withName("chaos-primary").get().getSpec().getLeaseTransitions() > epoch);
      String leader = sandbox.operatorLeader().orElseThrow();
      sandbox.killContainer(Sandbox.OPERATOR_NAMESPACE, leader, "operator");
    });
  }

  @Test
  @Order(5)
  void primaryPartitioned() throws Exception {
    rounds.rounds("primary cut off from the API server", 3,
        rounds.partitionUntilFailover(p -> new PodNetwork.Peer[] {sandbox.apiServer()}));
    rounds.rounds("primary cut off from everything", 3,
        rounds.partitionUntilFailover(p -> new PodNetwork.Peer[] {new PodNetwork.Peer.Everything()}));
    rounds.rounds("primary cut off from the standbys (8 s)", 2, rounds.partitionFor(Duration.ofSeconds(8),
        p -> sandbox.partition(NS, p, rounds.standbys(p).stream().map(s -> sandbox.pod(NS, s))
            .toArray(PodNetwork.Peer[]::new))));
    rounds.rounds("primary cut off from clients (8 s)", 2, rounds.partitionFor(Duration.ofSeconds(8),
        p -> sandbox.partition(NS, p, new PodNetwork.Peer.Clients())));
  }

  @Test
  @Order(6)
  void othersPartitioned() throws Exception {
    rounds.rounds("one standby cut off from everything (8 s)", 2, rounds.partitionFor(Duration.ofSeconds(8),
        p -> sandbox.partition(NS, rounds.standbys(p).get(0), new PodNetwork.Peer.Everything())));
    rounds.rounds("operator cut off from the pods (8 s)", 2, rounds.partitionFor(Duration.ofSeconds(8),
        p -> sandbox.partition(Sandbox.OPERATOR_NAMESPACE, sandbox.operatorLeader().orElseThrow(),
            sandbox.client().pods().inNamespace(NS).withLabel("pgcluster.dev/cluster", "chaos").list().getItems()
                .stream().map(pod -> (PodNetwork.Peer) new PodNetwork.Peer.Pod(pod.getStatus().getPodIP()))
                .toArray(PodNetwork.Peer[]::new))));
  }

  @Test
  @Order(7)
  void apiServerOutage() throws Exception {
    rounds.rounds("API server down for 6 s", 2, primary -> {
      sandbox.apiOutage(Duration.ofSeconds(6));
      Thread.sleep(6_000);
    });
  }

  /** A new fault every 8 s for a minute: SIGKILL, node loss, primary cut off from the API server. */
  @Test
  @Order(8)
  void backToBackFaultsForAMinute() throws Exception {
    List<PodNetwork.Cut> cuts = new ArrayList<>();
    rounds.backToBack("back to back: a fault every 8 s for 60 s", Duration.ofSeconds(8), Duration.ofSeconds(60),
        List.of(primary -> sandbox.killContainer(NS, primary, "postgres"),
            primary -> sandbox.loseNode(NS, primary),
            primary -> cuts.add(sandbox.partition(NS, primary, sandbox.apiServer()))),
        () -> {
          cuts.forEach(sandbox::heal);
          cuts.clear();
        });
    // With the asynchronous half (15) and NetworkPartitionE2ETest (6): at least 60 faults per run.
    assertTrue(rounds.faults() >= 40, "the synchronous half injects at least 40 faults: " + rounds.faults());
  }
}
