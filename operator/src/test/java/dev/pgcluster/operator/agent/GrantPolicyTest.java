package dev.pgcluster.operator.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgcluster.operator.ha.GrantTimes;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The agent's table. holder: who the Lease names ("-" = it could not be read); local: p = primary,
 * s = standby, x = down, pf = primary fenced and read-only, pfw = primary fenced but writable again;
 * renewed: ms since the agent's last renewal ("-" = none since it started). Lease 5 s: fence at 3.75 s.
 */
class GrantPolicyTest {

  @ParameterizedTest(name = "[{index}] holder {0}, local {1}, renewed {2} ms ago -> {3}")
  @CsvSource(delimiter = '|', textBlock = """
      pg-0 | p   | 900  | keep
      pg-0 | p   | 3749 | keep
      pg-0 | p   | 3750 | fence
      -    | p   | 3000 | keep
      -    | p   | 3750 | fence
      pg-0 | p   | -    | fence
      pg-1 | p   | 100  | fence
      pg-1 | pf  | 100  | keep
      pg-1 | pfw | 100  | fence
      pg-0 | pf  | 100  | unfence
      -    | pf  | 100  | keep
      pg-0 | pf  | 4000 | keep
      pg-1 | s   | -    | keep
      pg-0 | s   | -    | keep
      -    | x   | 9000 | keep
      """)
  void decides(String holder, String local, String renewed, String expected) {
    GrantPolicy.Local state = switch (local) {
      case "p" -> new GrantPolicy.Local(GrantPolicy.Role.PRIMARY, false, false);
      case "pf" -> new GrantPolicy.Local(GrantPolicy.Role.PRIMARY, true, true);
      case "pfw" -> new GrantPolicy.Local(GrantPolicy.Role.PRIMARY, true, false);
      case "s" -> new GrantPolicy.Local(GrantPolicy.Role.STANDBY, false, false);
      default -> new GrantPolicy.Local(GrantPolicy.Role.DOWN, false, false);
    };
    GrantPolicy.Step step = GrantPolicy.decide(holder.equals("-") ? Optional.empty() : Optional.of(holder), "pg-0",
        state, renewed.equals("-") ? Optional.empty() : Optional.of(Duration.ofMillis(Long.parseLong(renewed))),
        Duration.ofSeconds(5));
    switch (expected) {
      case "keep" -> assertInstanceOf(GrantPolicy.Keep.class, step);
      case "fence" -> assertInstanceOf(GrantPolicy.Fence.class, step);
      default -> assertInstanceOf(GrantPolicy.Unfence.class, step);
    }
  }

  @Test
  void theFenceComesBeforeTheOperatorMayPromote() {
    for (int seconds = 3; seconds <= 300; seconds++) {
      Duration lease = Duration.ofSeconds(seconds);
      Duration margin = GrantTimes.fenceMargin(lease);
      assertTrue(margin.compareTo(Duration.ofSeconds(1)) >= 0 && margin.compareTo(lease.dividedBy(2)) < 0,
          "margin " + margin + " for a lease of " + lease);
      assertTrue(GrantTimes.renewPeriod(lease).multipliedBy(3).compareTo(lease.minus(margin)) <= 0,
          "at least three renewal attempts before the fence, lease " + lease);
    }
  }

  @Test
  void theReasonSaysWhy() {
    var fence = assertInstanceOf(GrantPolicy.Fence.class, GrantPolicy.decide(Optional.of("pg-2"), "pg-0",
        new GrantPolicy.Local(GrantPolicy.Role.PRIMARY, false, false), Optional.of(Duration.ofMillis(10)),
        Duration.ofSeconds(5)));
    assertEquals("the primary Lease names pg-2, not pg-0", fence.reason());
  }
}
