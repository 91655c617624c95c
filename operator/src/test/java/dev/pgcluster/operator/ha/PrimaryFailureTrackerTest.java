package dev.pgcluster.operator.ha;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class PrimaryFailureTrackerTest {
  static final Duration PERIOD = Duration.ofSeconds(1);
  static final Instant T0 = Instant.parse("2026-12-02T00:00:00Z");

  @Test
  void countsOncePerProbePeriod() {
    PrimaryFailureTracker t = new PrimaryFailureTracker();
    assertEquals(1, t.observe("ns/pg", "pg-0", 1, false, false, T0, PERIOD));
    assertEquals(1, t.observe("ns/pg", "pg-0", 1, false, false, T0.plusMillis(300), PERIOD), "a burst of reconciles");
    assertEquals(2, t.observe("ns/pg", "pg-0", 1, false, false, T0.plusMillis(900), PERIOD));
    assertEquals(3, t.observe("ns/pg", "pg-0", 1, false, false, T0.plusMillis(1800), PERIOD));
    assertEquals(0, t.observe("ns/pg", "pg-0", 1, true, false, T0.plusMillis(2700), PERIOD), "healthy again");
  }

  @Test
  void aStartingHolderIsNotFailingAndCountsFromZeroOnceStarted() {
    PrimaryFailureTracker t = new PrimaryFailureTracker();
    for (int i = 0; i < 5; i++) {
      assertEquals(0, t.observe("ns/pg", "pg-1", 1, false, true, T0.plusSeconds(i), PERIOD));
    }
    assertEquals(1, t.observe("ns/pg", "pg-1", 1, false, false, T0.plusSeconds(5), PERIOD));
  }

  @Test
  void aNewHolderOrEpochStartsAgain() {
    PrimaryFailureTracker t = new PrimaryFailureTracker();
    t.observe("ns/pg", "pg-0", 1, false, false, T0, PERIOD);
    assertEquals(2, t.observe("ns/pg", "pg-0", 1, false, false, T0.plusSeconds(1), PERIOD));
    assertEquals(1, t.observe("ns/pg", "pg-1", 2, false, false, T0.plusSeconds(2), PERIOD));
  }
}
