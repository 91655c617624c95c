package dev.pgcluster.operator.ha;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The operator's clock on each grant, driven by a fake monotonic clock. */
class GrantWatchTest {
  private final AtomicLong nanos = new AtomicLong(1_000_000_000L);
  private final GrantWatch watch = new GrantWatch(nanos::get);

  @Test
  void aHolderCountsAsFencedOnceItsAgentsDeadlineHasPassedSinceTheRenewalSeen() {
    watch.observe("ns/pg", record("pg-0", 0, 10), true);
    tick(1_000);
    watch.observe("ns/pg", record("pg-0", 0, 11), true);  // its agent renews
    tick(3_000);
    GrantWatch.Grant before = watch.observe("ns/pg", record("pg-0", 0, 11), true);
    assertFalse(before.holderFenced());
    assertEquals(Duration.ofMillis(750), before.untilFenced(), "its agent fences at 3.75 s of a 5 s lease");
    tick(749);
    assertFalse(watch.observe("ns/pg", record("pg-0", 0, 11), true).holderFenced());
    tick(1);
    GrantWatch.Grant grant = watch.observe("ns/pg", record("pg-0", 0, 11), true);
    assertTrue(grant.holderFenced());
    assertEquals(Duration.ofMillis(3_750), grant.silence());
    assertEquals(Duration.ZERO, grant.untilFenced());
  }

  @Test
  void aDeadlineIsTimedFromTheReadNotFromWhenItIsLookedAt() {
    watch.observe("ns/pg", record("pg-0", 0, 10), true);
    tick(1_000);
    GrantWatch.Grant grant = watch.observe("ns/pg", record("pg-0", 0, 11), true);
    tick(500);  // the reconcile probes and acts before it schedules the next one
    assertEquals(Duration.ofMillis(3_250), grant.fromNow(grant.untilFenced(), watch.now()));
  }

  @Test
  void aHolderIsRenewingForTwoRenewPeriodsAfterARenewalSeen() {
    watch.observe("ns/pg", record("pg-0", 0, 10), true);
    assertFalse(watch.observe("ns/pg", record("pg-0", 0, 10), true).holderRenewing(), "no renewal seen yet");
    tick(1_000);
    assertTrue(watch.observe("ns/pg", record("pg-0", 0, 11), false).holderRenewing(), "renewed just now");
    tick(1_900);
    assertTrue(watch.observe("ns/pg", record("pg-0", 0, 11), false).holderRenewing());
    tick(100);
    assertFalse(watch.observe("ns/pg", record("pg-0", 0, 11), false).holderRenewing(), "two periods of 1 s passed");
  }

  @Test
  void aReadObservedLateCountsAsOfWhenItWasRead() {
    watch.observe("ns/pg", record("pg-0", 0, 10), true);
    tick(1_000);
    watch.observe("ns/pg", record("pg-0", 0, 11), true);
    long readAt = watch.now();  // the reconciler reads the Lease, then probes SQL for 6 s
    tick(500);
    watch.observe("ns/pg", record("pg-0", 0, 11), true);  // the health poller, meanwhile
    tick(5_500);
    GrantWatch.Grant late = watch.observe("ns/pg", record("pg-0", 0, 11), true, readAt);
    assertFalse(late.holderFenced(), "the read was made right after the renewal");
    assertEquals(Duration.ofMillis(500), late.silence(), "as of the last read, not of the late observation");
  }

  @Test
  void aRenewalRestartsTheCount() {
    watch.observe("ns/pg", record("pg-0", 0, 10), true);
    watch.observe("ns/pg", record("pg-0", 0, 11), true);
    tick(3_500);
    watch.observe("ns/pg", record("pg-0", 0, 12), true);
    tick(3_500);
    assertFalse(watch.observe("ns/pg", record("pg-0", 0, 12), true).holderFenced());
  }

  @Test
  void aFreshPrimaryIsNotCountedBeforeItRunsAsOne() {
    // The grant is written before the pod exists; bootstrap and start-up take what they take.
    watch.observe("ns/pg", record("pg-0", 0, 10), false);
    for (int i = 0; i < 20; i++) {
      tick(1_000);
      assertFalse(watch.observe("ns/pg", record("pg-0", 0, 10), false).holderFenced());
    }
    // Running as a primary, before its agent's first renewal: two durations, as its agent starts.
    for (int i = 0; i < 9; i++) {
      assertFalse(watch.observe("ns/pg", record("pg-0", 0, 10), true).holderFenced());
      tick(1_000);
    }
    tick(900);
    assertFalse(watch.observe("ns/pg", record("pg-0", 0, 10), true).holderFenced());
    tick(100);
    assertTrue(watch.observe("ns/pg", record("pg-0", 0, 10), true).holderFenced(), "its agent never renewed");
  }

  @Test
  void anAgentWhoseFirstRenewalIsLateKeepsItsGrantThenCountsToItsDeadline() {
    watch.observe("ns/pg", record("pg-0", 0, 10), true);
    tick(3_500);
    assertFalse(watch.observe("ns/pg", record("pg-0", 0, 10), true).holderFenced());
    tick(3_500);
    assertFalse(watch.observe("ns/pg", record("pg-0", 0, 17), true).holderFenced());
    tick(3_700);
    assertFalse(watch.observe("ns/pg", record("pg-0", 0, 17), true).holderFenced());
    tick(50);
    assertTrue(watch.observe("ns/pg", record("pg-0", 0, 17), true).holderFenced());
  }

  @Test
  void theFormerGrantEndsADurationAfterItsLastRenewalSeen() {
    watch.observe("ns/pg", record("pg-0", 0, 10), true);
    tick(1_000);
    watch.observe("ns/pg", record("pg-0", 0, 11), true);  // the last renewal seen: then pg-0 crashed
    tick(3_000);
    GrantWatch.Grant moved = watch.observe("ns/pg", record("pg-1", 1, 14), false);
    assertEquals(Duration.ofSeconds(2), moved.formerGrantLeft());
    tick(2_000);
    assertEquals(Duration.ZERO, watch.observe("ns/pg", record("pg-1", 1, 14), false).formerGrantLeft());
  }

  @Test
  void aFormerHolderNeverSeenRenewingMayHaveRenewedUnseen() {
    watch.observe("ns/pg", record("pg-0", 0, 10), true);
    tick(3_000);
    GrantWatch.Grant moved = watch.observe("ns/pg", record("pg-1", 1, 13), false);
    assertEquals(Duration.ofSeconds(5), moved.formerGrantLeft());
  }

  @Test
  void aNewLeaderThatNeverSawTheFormerHolderWaitsAWholeDuration() {
    GrantWatch.Grant first = watch.observe("ns/pg", record("pg-1", 1, 13), false);
    assertEquals(Duration.ofSeconds(5), first.formerGrantLeft());
  }

  @Test
  void afterASwitchoverThereIsNothingToWaitFor() {
    watch.observe("ns/pg", record("pg-0", 0, 10), true);
    PrimaryRecord switched = new PrimaryRecord("pg-1", 1, true, "2", "pg-0", "u", null, "switchover", "s1", null,
        Instant.ofEpochSecond(11), 5, true);
    assertEquals(Duration.ZERO, watch.observe("ns/pg", switched, false).formerGrantLeft());
  }

  @Test
  void anOperatorThatCouldNotLookGivesTheHolderItsStartAllowanceAgain() {
    watch.observe("ns/pg", record("pg-0", 0, 10), true);
    watch.observe("ns/pg", record("pg-0", 0, 11), true);
    tick(20_000);  // the API server was unreachable: no reads, and no renewals could be written either
    assertFalse(watch.observe("ns/pg", record("pg-0", 0, 11), true).holderFenced());
    tick(5_000);
    assertFalse(watch.observe("ns/pg", record("pg-0", 0, 11), true).holderFenced());
    tick(5_000);
    assertTrue(watch.observe("ns/pg", record("pg-0", 0, 11), true).holderFenced(), "two durations without renewal");
  }

  @Test
  void aShortenedLeaseCountsOnlyOnceTheAgentRenewedUnderIt() {
    watch.observe("ns/pg", record("pg-0", 0, 10, 30), true);
    tick(1_000);
    watch.observe("ns/pg", record("pg-0", 0, 11, 30), true);  // renewed under a 30 s lease
    tick(500);
    // spec.failover.leaseDurationSeconds 30 -> 5; then the holder's node goes silent
    GrantWatch.Grant shortened = watch.observe("ns/pg", record("pg-0", 0, 11, 5), true);
    assertEquals(Duration.ofMillis(22_000), shortened.untilFenced(), "its agent fences at 22.5 s of 30 s");
    for (int i = 0; i < 21; i++) {
      tick(1_000);  // read every probe period, no renewal
      assertFalse(watch.observe("ns/pg", record("pg-0", 0, 11, 5), true).holderFenced(),
          "its agent last read 30 s: it fences at 22.5 s");
    }
    tick(1_000);
    assertTrue(watch.observe("ns/pg", record("pg-0", 0, 11, 5), true).holderFenced());
  }

  @Test
  void aShortenedLeaseAppliesFromTheNextRenewal() {
    watch.observe("ns/pg", record("pg-0", 0, 10, 30), true);
    tick(1_000);
    watch.observe("ns/pg", record("pg-0", 0, 11, 5), true);  // its agent read 5 s, then renewed
    tick(3_750);
    assertTrue(watch.observe("ns/pg", record("pg-0", 0, 11, 5), true).holderFenced());
  }

  @Test
  void aFormerHolderWhoseLeaseWasShortenedKeepsTheLongerGrant() {
    watch.observe("ns/pg", record("pg-0", 0, 10, 30), true);
    tick(1_000);
    watch.observe("ns/pg", record("pg-0", 0, 11, 30), true);
    tick(500);
    watch.observe("ns/pg", record("pg-0", 0, 11, 5), true);
    for (int i = 0; i < 22; i++) {
      tick(1_000);
      watch.observe("ns/pg", record("pg-0", 0, 11, 5), true);
    }
    tick(500);
    GrantWatch.Grant moved = watch.observe("ns/pg", record("pg-1", 1, 34, 5), false);
    assertEquals(Duration.ofSeconds(7), moved.formerGrantLeft(), "30 s from the renewal seen, not 5");
  }

  @Test
  void aRenewalSeenBySweepingCountsFromThatRead() {
    watch.observe("ns/pg", record("pg-0", 0, 10), true);
    tick(1_000);
    watch.observe("ns/pg", record("pg-0", 0, 11), true);
    tick(900);
    watch.sawRenewal("ns/pg", record("pg-0", 0, 12), watch.now());  // a quarter second after the renewal
    tick(2_000);
    GrantWatch.Grant grant = watch.observe("ns/pg", record("pg-0", 0, 12), true);
    assertEquals(Duration.ofMillis(2_000), grant.silence(), "from the sweep's read, not the poller's");
  }

  @Test
  void sweepingChangesNothingButRenewalsOfTheGrantAlreadySeen() {
    watch.observe("ns/pg", record("pg-0", 0, 10), true);
    long early = watch.now();
    tick(1_000);
    watch.observe("ns/pg", record("pg-0", 0, 11), true);
    tick(1_500);
    watch.sawRenewal("ns/pg", record("pg-1", 1, 12), watch.now());  // a new holder: the reconcile's business
    watch.sawRenewal("ns/pg", record("pg-0", 0, 11), watch.now());  // no renewal
    watch.sawRenewal("ns/pg", record("pg-0", 0, 12), early);        // read before the last read seen
    watch.sawRenewal("ns/other", record("pg-0", 0, 12), watch.now());  // a cluster not observed yet
    tick(2_250);
    assertTrue(watch.observe("ns/pg", record("pg-0", 0, 11), true).holderFenced(), "3.75 s since the renewal");
  }

  private void tick(long millis) {
    nanos.addAndGet(millis * 1_000_000);
  }

  private static PrimaryRecord record(String holder, int epoch, long renewedAtSecond) {
    return record(holder, epoch, renewedAtSecond, 5);
  }

  private static PrimaryRecord record(String holder, int epoch, long renewedAtSecond, int leaseSeconds) {
    return new PrimaryRecord(holder, epoch, true, "1", null, null, null, null, null, null,
        Instant.ofEpochSecond(renewedAtSecond), leaseSeconds, false);
  }
}
