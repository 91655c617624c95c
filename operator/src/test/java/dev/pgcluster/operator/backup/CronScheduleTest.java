package dev.pgcluster.operator.backup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.util.Optional;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class CronScheduleTest {

  @ParameterizedTest(name = "{0} after {1} -> {2}")
  @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
      "0 3 * * *      | 2026-12-01T02:59:30Z | 2026-12-01T03:00:00Z",
      "0 3 * * *      | 2026-12-01T03:00:00Z | 2026-12-02T03:00:00Z",
      "*/15 * * * *   | 2026-12-01T10:14:59Z | 2026-12-01T10:15:00Z",
      "*/15 * * * *   | 2026-12-01T10:45:00Z | 2026-12-01T11:00:00Z",
      "30 1-3/2 * * * | 2026-12-01T01:30:00Z | 2026-12-01T03:30:00Z",
      "0 0 1 1 *      | 2026-06-01T00:00:00Z | 2027-01-01T00:00:00Z",
      // Monday 2026-12-07; with both day fields restricted, either matches (the 1st or a Monday).
      "0 0 1 * 1      | 2026-12-01T00:00:00Z | 2026-12-07T00:00:00Z",
      // Sunday as 0 and as 7: 2026-12-06 is a Sunday.
      "0 12 * * 7     | 2026-12-01T00:00:00Z | 2026-12-06T12:00:00Z",
      "0 12 * * 0     | 2026-12-01T00:00:00Z | 2026-12-06T12:00:00Z",
      "0 0 29 2 *     | 2026-03-01T00:00:00Z | 2028-02-29T00:00:00Z",
      "5,10 * * * *   | 2026-12-01T10:05:00Z | 2026-12-01T10:10:00Z"})
  void next(String expression, String after, String expected) {
    assertEquals(Optional.of(Instant.parse(expected)), CronSchedule.parse(expression.trim()).next(Instant.parse(after)));
  }

  @ParameterizedTest(name = "{0}: {1}")
  @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
      "61 * * * *     | cron minute field '61': 61 is outside 0-59",
      "* * *          | needs five fields",
      "5-1 * * * *    | range 5-1 runs backwards",
      "* 24 * * *     | cron hour field '24': 24 is outside 0-23",
      "* * 0 * *      | cron day of month field '0': 0 is outside 1-31",
      "a * * * *      | 'a' is not a number",
      "*/0 * * * *    | 0 is outside 1-59"})
  void problems(String expression, String expected) {
    Optional<String> problem = CronSchedule.problem(expression.trim());
    assertTrue(problem.isPresent() && problem.get().contains(expected), problem.toString());
  }

  @ParameterizedTest(name = "{0} since {1} at {2}: {3}")
  @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
      // Missed firings make one backup: the latest that is due.
      "0 * * * *      | 2026-12-01T00:00:00Z | 2026-12-01T05:30:00Z | 2026-12-01T05:00:00Z",
      "0 * * * *      | 2026-12-01T05:00:00Z | 2026-12-01T05:59:59Z | none",
      "0 3 * * *      | 2026-11-01T03:00:00Z | 2026-12-01T03:00:00Z | 2026-12-01T03:00:00Z"})
  void latestDue(String expression, String since, String now, String expected) {
    Optional<Instant> due = CronSchedule.parse(expression.trim()).latestDue(Instant.parse(since), Instant.parse(now));
    assertEquals(expected.equals("none") ? Optional.empty() : Optional.of(Instant.parse(expected)), due);
  }
}
