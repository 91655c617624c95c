package dev.pgcluster.operator.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class OperatorConfigTest {

  @Test
  void defaultsSuitAProductionDeployment() {
    OperatorConfig config = OperatorConfig.fromEnv(Map.of("POD_NAME", "op-1", "POD_NAMESPACE", "pgc-system"));
    assertTrue(config.watchNamespaces().isEmpty(), "all namespaces");
    assertTrue(config.leaderElection());
    assertEquals("pgc-system", config.leaseNamespace());
    assertEquals("op-1", config.identity());
    assertEquals(8080, config.httpPort());
    assertEquals("text", config.logFormat());
    assertEquals(Duration.ofSeconds(2), config.sqlConnectTimeout());
  }

  @Test
  void readsEveryVariable() {
    OperatorConfig config = OperatorConfig.fromEnv(Map.of("PGC_WATCH_NAMESPACES", "a, b", "PGC_LOG_FORMAT", "JSON",
        "PGC_LOG_LEVEL", "debug", "PGC_HTTP_PORT", "9000", "PGC_LEADER_ELECTION", "false",
        "PGC_STATUS_REFRESH_SECONDS", "30"));
    assertEquals(Set.of("a", "b"), config.watchNamespaces());
    assertEquals("json", config.logFormat());
    assertEquals("DEBUG", config.logLevel());
    assertEquals(9000, config.httpPort());
    assertEquals(false, config.leaderElection());
    assertEquals(Duration.ofSeconds(30), config.statusRefresh());
  }

  @Test
  void rejectsMalformedValuesWithTheVariableName() {
    var e = assertThrows(IllegalArgumentException.class,
        () -> OperatorConfig.fromEnv(Map.of("PGC_HTTP_PORT", "eighty")));
    assertEquals("PGC_HTTP_PORT must be an integer, not 'eighty'", e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> OperatorConfig.fromEnv(Map.of("PGC_LOG_FORMAT", "xml")));
  }
}
