package dev.pgcluster.operator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.LoggingEvent;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A JSON log line as a log pipeline parses it. */
class JsonLineEncoderTest {
  final LoggerContext context = new LoggerContext();
  final JsonLineEncoder encoder = new JsonLineEncoder();

  @Test
  void aLineHasTheFormattedMessageAnIsoTimeAndTheClusterAsFields() throws Exception {
    LoggingEvent event = new LoggingEvent("x", context.getLogger("dev.pgcluster.operator.reconcile.Actuator"),
        Level.WARN, "{}: promoting {}", null, new Object[] {"db/shop", "shop-1"});
    event.setMDCPropertyMap(Map.of("resource.namespace", "db", "resource.name", "shop"));
    String text = new String(encoder.encode(event), StandardCharsets.UTF_8);
    assertTrue(text.endsWith("\n") && text.indexOf('\n') == text.length() - 1, "one line: " + text);
    JsonNode line = new ObjectMapper().readTree(text);
    assertEquals("db/shop: promoting shop-1", line.path("message").asText());
    assertEquals("WARN", line.path("level").asText());
    assertEquals("db", line.path("namespace").asText());
    assertEquals("shop", line.path("cluster").asText());
    assertEquals("dev.pgcluster.operator.reconcile.Actuator", line.path("logger").asText());
    assertEquals(event.getTimeStamp(), Instant.parse(line.path("time").asText()).toEpochMilli());
    assertTrue(line.path("time").asText().endsWith("Z"), line.path("time").asText());
    assertFalse(line.has("exception"));
  }

  @Test
  void anExceptionIsOneFieldAndALineWithoutAResourceHasNoClusterFields() throws Exception {
    LoggingEvent event = new LoggingEvent("x", context.getLogger("dev.pgcluster.operator.PgClusterOperator"),
        Level.ERROR, "failed \"quoted\"\nsecond line", new IllegalStateException("boom"), null);
    event.setMDCPropertyMap(Map.of());  // no reconcile under way
    String text = new String(encoder.encode(event), StandardCharsets.UTF_8);
    assertEquals(1, text.lines().count(), text);
    JsonNode line = new ObjectMapper().readTree(text);
    assertEquals("failed \"quoted\"\nsecond line", line.path("message").asText());
    assertTrue(line.path("exception").asText().contains("IllegalStateException: boom"), line.toString());
    assertFalse(line.has("namespace") || line.has("cluster"), line.toString());
  }
}
