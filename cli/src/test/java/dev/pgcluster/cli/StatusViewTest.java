package dev.pgcluster.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.operator.api.v1alpha1.PrimaryChangeStatus;
import dev.pgcluster.operator.api.v1alpha1.RewindStatus;
import dev.pgcluster.operator.render.TestClusters;
import java.util.List;
import org.junit.jupiter.api.Test;

class StatusViewTest {
  @Test
  void theClusterAtAGlance() {
    PgCluster cluster = SwitchoverCheckTest.cluster();
    cluster.getStatus().instances.get(1).lagSeconds = 0.25;
    cluster.getStatus().instances.get(1).syncState = "quorum";
    cluster.getStatus().instances.get(2).pendingRestart = List.of("shared_buffers: 128MB -> 256MB");
    cluster.getStatus().replication = "sync (ANY 1)";
    PrimaryChangeStatus change = new PrimaryChangeStatus();
    change.from = "pg-1";
    change.to = "pg-0";
    change.at = "2026-12-07T13:00:00Z";
    change.reason = "failover: pg-1 unreachable";
    change.promotionSeconds = 0.31;
    change.rewind = new RewindStatus();
    change.rewind.instance = "pg-1";
    change.rewind.transactions = 0;
    change.rewind.bytes = 312L;
    cluster.getStatus().lastPrimaryChange = change;
    String text = new StatusView(false).text(cluster);
    List<String> lines = text.lines().toList();
    assertEquals("Cluster   pg (namespace db)   phase Healthy   3/3 instances ready", lines.get(0));
    assertEquals("Primary   pg-0   epoch 2", lines.get(1));
    assertEquals("Mode      sync (ANY 1)", lines.get(2));
    assertTrue(text.contains("Last change of primary: pg-1 -> pg-0 at 2026-12-07T13:00:00Z (failover: pg-1 unreachable),"
        + " promoted in 0.31 s"), text);
    assertTrue(text.contains("realised data loss: 0 transactions committed on pg-1 past the fork point were discarded"
        + " (312 bytes of WAL)"), text);
    assertTrue(text.contains("INSTANCE  ROLE             READY  TIMELINE  LAG            SYNC    PENDING RESTART\n"
        + "pg-0      primary          yes    2         -              -       -\n"
        + "pg-1      replica          yes    2         120 B / 0.3 s  quorum  -\n"
        + "pg-2      delayed-replica  yes    2         8.8 KiB        -       shared_buffers: 128MB -> 256MB\n"), text);
    assertFalse(text.contains("\u001b["), "no colour unless asked");
    assertTrue(new StatusView(true).text(cluster).contains("\u001b[32mHealthy\u001b[0m"));
  }

  @Test
  void aClusterWithoutStatusSaysSo() {
    assertEquals("Cluster pg (namespace db): no status yet; the operator has not reconciled it (is it running?)\n",
        new StatusView(false).text(TestClusters.cluster("pg", 3)));
  }

  @Test
  void jsonCarriesTheStatusAsTheApiHoldsIt() throws Exception {
    var node = new ObjectMapper().readTree(StatusView.json(SwitchoverCheckTest.cluster()));
    assertEquals("pg", node.get("name").asText());
    assertEquals("pg-0", node.at("/status/currentPrimary").asText());
    assertEquals("delayed-replica", node.at("/status/instances/2/role").asText());
    assertEquals(3, node.at("/spec/instances").asInt());
  }
}
