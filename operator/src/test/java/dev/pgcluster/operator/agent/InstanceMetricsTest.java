package dev.pgcluster.operator.agent;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.SQLException;
import org.junit.jupiter.api.Test;

/** The exporter's series when PostgreSQL does not answer (the answering case runs in MonitoringE2ETest). */
class InstanceMetricsTest {
  @Test
  void aServerThatDoesNotAnswerIsDownWithEverySeriesThereAndNoNaN() {
    try (InstanceMetrics metrics = new InstanceMetrics(() -> {
      throw new SQLException("Connection refused");
    })) {
      String scrape = metrics.scrape();
      assertTrue(scrape.contains("pgcluster_pg_up 0.0"), scrape);
      for (String state : InstanceMetrics.STATES.values()) {
        assertTrue(scrape.contains("pgcluster_pg_connections{state=\"" + state + "\"} 0.0"), scrape);
      }
      for (String mode : InstanceMetrics.LOCK_MODES) {
        assertTrue(scrape.contains("pgcluster_pg_locks{mode=\"" + mode + "\"} 0.0"), scrape);
      }
      assertTrue(scrape.contains("pgcluster_pg_transactions_committed_total 0.0"), scrape);
      assertTrue(scrape.contains("pgcluster_pg_wal_written_bytes_total 0.0"), scrape);
      assertFalse(scrape.lines().anyMatch(l -> !l.startsWith("#") && l.endsWith("NaN")), scrape);
    }
  }
}
