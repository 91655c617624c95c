package dev.pgcluster.operator.status;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgcluster.operator.api.v1alpha1.BackupStatus;
import dev.pgcluster.operator.api.v1alpha1.PgBackup;
import dev.pgcluster.operator.api.v1alpha1.PgBackupStatus;
import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.operator.ha.ArchiveFacts;
import dev.pgcluster.operator.render.BackupRendererTest;
import dev.pgcluster.operator.render.TestClusters;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class BackupStatusTest {
  static final Instant T = Instant.parse("2026-12-01T10:00:00Z");

  static ArchiveFacts facts(Instant archivedAt, Instant failedAt, Duration failingFor) {
    return new ArchiveFacts(true, 10, "00000001000000000000000A", archivedAt, 3, "00000001000000000000000B", failedAt,
        4, failedAt == null ? null : "2026-12-01T10:00:05Z 00000001000000000000000B exit 82\nERROR: [082]: unable to"
        + " push WAL file '00000001000000000000000B' to the archive asynchronously after 5 second(s)", failingFor);
  }

  @Test
  void archivingFailsOnlyWhenTheLatestAttemptFailedForLongEnough() {
    PgCluster cluster = BackupRendererTest.withBackup();
    assertFalse(StatusAssembler.archiveFailing(cluster, facts(T, T.minusSeconds(5), Duration.ZERO)),
        "a failure before the last success");
    assertFalse(StatusAssembler.archiveFailing(cluster, facts(T, T.plusSeconds(5), Duration.ofSeconds(29))),
        "a failure not yet 30 s old");
    assertTrue(StatusAssembler.archiveFailing(cluster, facts(T, T.plusSeconds(5), Duration.ofSeconds(30))));
    assertTrue(StatusAssembler.archiveFailing(cluster, facts(null, T, Duration.ofSeconds(60))), "nothing archived yet");
    assertFalse(StatusAssembler.archiveFailing(TestClusters.cluster("pg", 3), facts(null, T, Duration.ofSeconds(60))),
        "no spec.backup");
    assertEquals("WAL archiving to spec.backup.repository (s3://backups/pgcluster/db at minio.storage.svc)"
        + " has failed for 30 s (last archived: 00000001000000000000000A at 2026-12-01T10:00:00Z;"
        + " 4 WAL segments waiting): 2026-12-01T10:00:05Z 00000001000000000000000B exit 82 ERROR: [082]: unable to push"
        + " WAL file '00000001000000000000000B' to the archive asynchronously after 5 second(s)",
        StatusAssembler.archiveFailure(cluster, facts(T, T.plusSeconds(5), Duration.ofSeconds(30))));
  }

  static PgBackup backup(String name, String phase, String stoppedAt, String first) {
    PgBackup b = new PgBackup();
    b.setMetadata(new ObjectMetaBuilder().withName(name).build());
    b.setStatus(new PgBackupStatus());
    b.getStatus().phase = phase;
    b.getStatus().stoppedAt = stoppedAt;
    b.getStatus().firstRecoverabilityPoint = first;
    return b;
  }

  @Test
  void theNewestCompletedBackupGivesTheWindow() {
    PgCluster cluster = BackupRendererTest.withBackup();
    BackupStatus previous = new BackupStatus();
    previous.lastScheduledAt = "2026-12-01T03:00:00Z";
    BackupStatus s = StatusAssembler.backup(cluster, facts(T, null, Duration.ZERO), List.of(
        backup("a", PgBackupStatus.COMPLETED, "2026-11-30T03:00:05Z", "2026-11-29T03:00:05Z"),
        backup("b", PgBackupStatus.COMPLETED, "2026-12-01T03:00:05Z", "2026-11-30T03:00:05Z"),
        backup("c", PgBackupStatus.FAILED, null, null),
        backup("d", PgBackupStatus.RUNNING, null, null)), previous);
    assertEquals("b", s.lastBackup);
    assertEquals("2026-12-01T03:00:05Z", s.lastBackupAt);
    assertEquals("2026-11-30T03:00:05Z", s.firstRecoverabilityPoint);
    assertEquals("00000001000000000000000A", s.lastArchivedWal);
    assertEquals(4L, s.walSegmentsWaiting);
    assertNull(s.archiveError, "not failing");
    assertEquals("2026-12-01T03:00:00Z", s.lastScheduledAt);
    assertNull(StatusAssembler.backup(TestClusters.cluster("pg", 3), ArchiveFacts.NONE, List.of(), null));
  }
}
