package dev.pgcluster.operator.backup;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.pgcluster.operator.api.v1alpha1.PgBackupStatus;
import org.junit.jupiter.api.Test;

class BackupAssignmentTest {
  static final BackupAssignment.Cluster HEALTHY = new BackupAssignment.Cluster(true, true, "pg-0", true);

  static PgBackupStatus status(String phase, String instance) {
    PgBackupStatus s = new PgBackupStatus();
    s.phase = phase;
    s.instance = instance;
    return s;
  }

  @Test
  void aNewBackupGoesToTheHealthyPrimary() {
    assertEquals(new BackupAssignment.Assign("pg-0"), BackupAssignment.decide("pg", null, HEALTHY));
    assertEquals(new BackupAssignment.Assign("pg-0"), BackupAssignment.decide("pg", status(null, null), HEALTHY));
  }

  @Test
  void aMissingClusterOrOneWithoutBackupFails() {
    assertEquals(new BackupAssignment.Fail("PgCluster pg does not exist in this namespace (spec.cluster)"),
        BackupAssignment.decide("pg", null, null));
    assertEquals(new BackupAssignment.Fail("PgCluster pg has no spec.backup: there is no store to back up to"),
        BackupAssignment.decide("pg", null, new BackupAssignment.Cluster(false, true, "pg-0", true)));
  }

  @Test
  void withoutAHealthyPrimaryItWaits() {
    assertEquals(new BackupAssignment.Wait("waiting for pg to have a healthy primary"),
        BackupAssignment.decide("pg", null, new BackupAssignment.Cluster(true, true, "pg-0", false)));
    assertEquals(new BackupAssignment.Wait("waiting for pg to have a healthy primary"),
        BackupAssignment.decide("pg", null, new BackupAssignment.Cluster(true, false, "pg-0", true)));
  }

  @Test
  void aPrimaryChangeUnderARunningOrPendingBackupFailsIt() {
    var moved = new BackupAssignment.Cluster(true, true, "pg-1", true);
    for (String phase : new String[] {PgBackupStatus.PENDING, PgBackupStatus.RUNNING}) {
      assertEquals(new BackupAssignment.Fail("the primary changed from pg-0 to pg-1 before the backup finished;"
          + " create a new PgBackup"), BackupAssignment.decide("pg", status(phase, "pg-0"), moved));
      assertEquals(new BackupAssignment.Keep(), BackupAssignment.decide("pg", status(phase, "pg-0"), HEALTHY));
    }
  }

  @Test
  void finishedBackupsStayAsTheyAreEvenWhenTheClusterIsGone() {
    assertEquals(new BackupAssignment.Keep(), BackupAssignment.decide("pg", status(PgBackupStatus.COMPLETED, "pg-0"), null));
    assertEquals(new BackupAssignment.Keep(), BackupAssignment.decide("pg", status(PgBackupStatus.FAILED, "pg-0"), null));
  }
}
