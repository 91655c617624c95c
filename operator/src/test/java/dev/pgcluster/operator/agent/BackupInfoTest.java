package dev.pgcluster.operator.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgcluster.operator.api.v1alpha1.PgBackupStatus;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Against output of pgBackRest 2.45 (info JSON trimmed to the fields read, two backups). */
class BackupInfoTest {
  static final String INFO = """
      [{"archive":[{"database":{"id":1,"repo-key":1},"id":"15-1","max":"00000001000000000000000A",
        "min":"000000010000000000000001"}],
        "backup":[
         {"archive":{"start":"000000010000000000000005","stop":"000000010000000000000006"},
          "info":{"delta":23164536,"repository":{"delta":3058730,"size":3058730},"size":23164536},
          "label":"20261201-093701F","lsn":{"start":"0/5000028","stop":"0/6000050"},
          "timestamp":{"start":1796117821,"stop":1796117824},"type":"full"},
         {"archive":{"start":"000000010000000000000009","stop":"000000010000000000000009"},
          "info":{"delta":23200000,"repository":{"delta":3100000,"size":3100000},"size":23200000},
          "label":"20261201-100000F","lsn":{"start":"0/9000028","stop":"0/9000138"},
          "timestamp":{"start":1796119200,"stop":1796119203},"type":"full"}],
        "name":"pg","status":{"code":0,"message":"ok"}},
       {"backup":[],"name":"other"}]
      """;

  @Test
  void theLabelIsTheLastAnnounced() {
    assertEquals(Optional.of("20261201-100000F"), BackupInfo.newLabel(
        "P00   INFO: backup start archive = 000000010000000000000009\nP00   INFO: new backup label = 20261201-100000F\n"));
    assertEquals(Optional.empty(), BackupInfo.newLabel("ERROR: [056]: unable to find primary cluster"));
  }

  @Test
  void aBackupAndTheStoresWindow() {
    PgBackupStatus s = new PgBackupStatus();
    assertTrue(BackupInfo.describe(INFO, "pg", "20261201-100000F", s));
    assertEquals("20261201-100000F", s.label);
    assertEquals("2026-12-01T10:00:00Z", s.startedAt);
    assertEquals("2026-12-01T10:00:03Z", s.stoppedAt);
    assertEquals("0/9000028", s.startLsn);
    assertEquals("0/9000138", s.stopLsn);
    assertEquals("000000010000000000000009", s.startWal);
    assertEquals(23200000L, s.databaseBytes);
    assertEquals(3100000L, s.repositoryBytes);
    assertEquals(2, s.backupsKept);
    assertEquals("20261201-093701F", s.oldestBackup);
    assertEquals("2026-12-01T09:37:04Z", s.firstRecoverabilityPoint, "the oldest backup's end");
    assertEquals("000000010000000000000001", s.walArchiveMin);
    assertEquals("00000001000000000000000A", s.walArchiveMax);
  }

  @Test
  void anUnknownLabelOrStanzaIsNotDescribed() {
    assertFalse(BackupInfo.describe(INFO, "pg", "20261201-999999F", new PgBackupStatus()));
    assertFalse(BackupInfo.describe(INFO, "nope", "20261201-100000F", new PgBackupStatus()));
  }

  @Test
  void errorsKeepPgBackRestsErrorLinesWithTheirHints() {
    String out = "2026 P00   INFO: backup command begin\nERROR: [082]: WAL segment was not archived\n"
        + "       HINT: check the archive_command\n2026 P00   INFO: backup command end: aborted";
    assertEquals("ERROR: [082]: WAL segment was not archived HINT: check the archive_command", BackupAgent.errors(out));
  }
}
