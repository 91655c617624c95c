package dev.pgcluster.operator.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class LivenessTest {
  final AtomicReference<Instant> now = new AtomicReference<>(Instant.parse("2026-12-02T10:00:00Z"));
  final AtomicBoolean leading = new AtomicBoolean(true);
  final AtomicReference<List<String>> unhealthy = new AtomicReference<>(List.of());
  final Liveness liveness = new Liveness(leading::get, unhealthy::get, new Clock() {
    @Override
    public java.time.ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return now.get();
    }
  });

  void advance(Duration d) {
    now.set(now.get().plus(d));
  }

  @Test
  void aLeaderWithHealthyEventSourcesIsAlive() {
    assertEquals(new Liveness.Verdict(true, "ok"), liveness.check());
  }

  @Test
  void aLeaderBlindForLongerThanTheGraceIsNotAliveAndOneThatRecoversIsJudgedAnew() {
    unhealthy.set(List.of("pgcluster/PodInformer"));
    assertTrue(liveness.check().alive(), "an API server outage gets its grace");
    advance(Liveness.GRACE.minusSeconds(1));
    assertTrue(liveness.check().alive());
    advance(Duration.ofSeconds(1));
    Liveness.Verdict dead = liveness.check();
    assertFalse(dead.alive());
    assertEquals("event sources unhealthy for 60 s: pgcluster/PodInformer", dead.reason());
    unhealthy.set(List.of());
    assertTrue(liveness.check().alive());
    unhealthy.set(List.of("pgcluster/PodInformer"));
    advance(Duration.ofSeconds(30));
    assertTrue(liveness.check().alive(), "the grace starts again after a recovery");
  }

  @Test
  void aFollowerIsNotJudgedOnEventSourcesItDoesNotRun() {
    leading.set(false);
    unhealthy.set(List.of("pgcluster/PodInformer"));
    liveness.check();
    advance(Duration.ofMinutes(10));
    assertTrue(liveness.check().alive());
  }
}
