package dev.pgcluster.operator.lease;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgcluster.operator.ha.GrantWatch;
import dev.pgcluster.operator.ha.PrimaryRecord;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The primary Lease's writes against the mock API server, with a clock the test moves. */
@EnableKubernetesMockClient(crud = true)
class PrimaryLeaseApiTest {
  KubernetesClient client;
  private final AtomicLong millis = new AtomicLong(Instant.parse("2026-11-30T12:00:00Z").toEpochMilli());
  private final Clock clock = new Clock() {
    @Override public ZoneOffset getZone() { return ZoneOffset.UTC; }
    @Override public Clock withZone(java.time.ZoneId zone) { return this; }
    @Override public Instant instant() { return Instant.ofEpochMilli(millis.get()); }
  };

  /**
   * The promotion starts the new primary's grant: after waiting out the former primary's grant, the
   * new one must not be found silent before its agent could renew (that failed healthy new primaries
   * over a second time).
   */
  @Test
  void thePromotionStartsTheNewPrimarysGrant() {
    PrimaryLease lease = new PrimaryLease(client, clock);
    AtomicLong nanos = new AtomicLong(0);
    GrantWatch watch = new GrantWatch(nanos::get);
    PrimaryRecord first = lease.create("db", "pg-primary", "pg-0", 5, Map.of());
    watch.observe("db/pg", first, true);
    millis.addAndGet(1_000);
    nanos.addAndGet(1_000_000_000L);
    PrimaryRecord moved = lease.transfer("db", "pg-primary", lease.read("db", "pg-primary").orElseThrow(), "pg-1",
        "pg-0", "uid", "failover");
    watch.observe("db/pg", moved, false);
    millis.addAndGet(5_500);  // the former primary's grant runs out
    nanos.addAndGet(5_500_000_000L);
    assertFalse(watch.observe("db/pg", lease.read("db", "pg-primary").orElseThrow(), false).holderFenced(),
        "a standby waiting for its promotion is not counted");
    PrimaryRecord promoted = lease.markPromoted("db", "pg-primary", lease.read("db", "pg-primary").orElseThrow());
    assertEquals(Instant.ofEpochMilli(millis.get()), promoted.renewedAt());
    GrantWatch.Grant grant = watch.observe("db/pg", promoted, true);
    assertFalse(grant.holderFenced(), "the new primary has a whole lease for its agent's first renewal");
    assertEquals(Duration.ZERO, grant.silence());
    nanos.addAndGet(5_000_000_000L);
    assertTrue(watch.observe("db/pg", lease.read("db", "pg-primary").orElseThrow(), true).holderFenced(),
        "the promotion's renewTime counts as its first renewal: a warm agent counts to its deadline");
  }

  /**
   * The agent renews from the copy its last request returned, one request per round; a copy that the
   * operator's write made stale is refused (409), never applied over that write.
   */
  /** A forced promotion is recorded for its epoch only: the next ordinary change of primary clears it. */
  @Test
  void aForcedTransferIsRecordedForItsEpochOnly() {
    PrimaryLease lease = new PrimaryLease(client, clock);
    lease.create("db", "pg-primary", "pg-0", 4, Map.of());
    PrimaryRecord forced = lease.transfer("db", "pg-primary", lease.read("db", "pg-primary").orElseThrow(), "pg-1",
        "pg-0", "uid-0", "forced", "f1", false, true);
    assertTrue(forced.forced());
    assertTrue(lease.read("db", "pg-primary").orElseThrow().forced(), "read back from the Lease");
    assertEquals("f1", lease.read("db", "pg-primary").orElseThrow().switchoverId());
    PrimaryRecord next = lease.transfer("db", "pg-primary", lease.read("db", "pg-primary").orElseThrow(), "pg-2",
        "pg-1", "uid-1", "failover");
    assertFalse(next.forced());
    assertFalse(lease.read("db", "pg-primary").orElseThrow().forced());
    assertEquals("f1", next.switchoverId(), "the done id stays: that request is never carried out again");
  }

  @Test
  void aRenewalFromAStaleCopyIsRefused() {
    PrimaryLease lease = new PrimaryLease(client, clock);
    lease.create("db", "pg-primary", "pg-0", 4, Map.of());
    var copy = lease.readLease("db", "pg-primary").orElseThrow();
    millis.addAndGet(800);
    var renewed = lease.renewAsHolder(copy, "pg-0");
    assertEquals(Instant.ofEpochMilli(millis.get()), PrimaryLease.toRecord(renewed).renewedAt());
    millis.addAndGet(800);
    renewed = lease.renewAsHolder(renewed, "pg-0");  // from the last renewal's answer, no read in between
    assertEquals(Instant.ofEpochMilli(millis.get()), PrimaryLease.toRecord(renewed).renewedAt());

    lease.transfer("db", "pg-primary", lease.read("db", "pg-primary").orElseThrow(), "pg-1", "pg-0", "uid", "failover");
    var stale = renewed;
    var refused = org.junit.jupiter.api.Assertions.assertThrows(io.fabric8.kubernetes.client.KubernetesClientException.class,
        () -> lease.renewAsHolder(stale, "pg-0"));
    assertEquals(409, refused.getCode());
    assertEquals("pg-1", lease.read("db", "pg-primary").orElseThrow().holder(), "the failover stands");
    var current = lease.readLease("db", "pg-primary").orElseThrow();
    org.junit.jupiter.api.Assertions.assertThrows(LeaseConflictException.class, () -> lease.renewAsHolder(current, "pg-0"),
        "a Lease naming another pod is not renewed");
  }

  @Test
  void aHolderEditedByHandIsReportedAndTheRecordStands() {
    PrimaryLease lease = new PrimaryLease(client, clock);
    lease.create("db", "pg-primary", "pg-1", 5, Map.of());
    var raw = client.leases().inNamespace("db").withName("pg-primary").get();
    raw.getSpec().setHolderIdentity("pg-2");
    client.leases().inNamespace("db").resource(raw).update();
    PrimaryRecord read = lease.read("db", "pg-primary").orElseThrow();
    assertEquals("pg-1", read.holder());
    assertEquals("pg-2", read.editedHolder());
    PrimaryRecord restored = lease.restoreHolder("db", "pg-primary", read);
    assertEquals(null, restored.editedHolder());
    assertEquals("pg-1", client.leases().inNamespace("db").withName("pg-primary").get().getSpec().getHolderIdentity());
  }
}
