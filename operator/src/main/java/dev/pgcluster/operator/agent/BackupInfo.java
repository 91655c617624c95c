package dev.pgcluster.operator.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pgcluster.operator.api.v1alpha1.PgBackupStatus;
import java.time.Instant;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Reads what pgBackRest prints: the label of a new backup, and `pgbackrest info --output=json`. Pure. */
final class BackupInfo {
  private static final Pattern LABEL = Pattern.compile("new backup label = (\\S+)");
  private static final ObjectMapper JSON = new ObjectMapper();

  private BackupInfo() {}

  /** The label `pgbackrest backup --log-level-console=info` announces. */
  static Optional<String> newLabel(String backupOutput) {
    Matcher m = LABEL.matcher(backupOutput);
    String label = null;
    while (m.find()) {
      label = m.group(1);
    }
    return Optional.ofNullable(label);
  }

  /**
   * Fills {@code into} with the facts of backup {@code label} and the stanza's window (oldest backup
   * kept, archived WAL range) from the info JSON. False when the label is not in it.
   */
  static boolean describe(String infoJson, String stanza, String label, PgBackupStatus into) {
    JsonNode root;
    try {
      root = JSON.readTree(infoJson);
    } catch (java.io.IOException e) {
      throw new IllegalArgumentException("pgbackrest info printed no JSON: " + e.getMessage(), e);
    }
    JsonNode stanzaNode = null;
    for (JsonNode s : root) {
      if (stanza.equals(s.path("name").asText())) {
        stanzaNode = s;
      }
    }
    if (stanzaNode == null) {
      return false;
    }
    JsonNode found = null;
    JsonNode oldest = null;
    int kept = 0;
    for (JsonNode b : stanzaNode.path("backup")) {
      kept++;
      if (label.equals(b.path("label").asText())) {
        found = b;
      }
      if (oldest == null || b.path("timestamp").path("stop").asLong() < oldest.path("timestamp").path("stop").asLong()) {
        oldest = b;
      }
    }
    if (found == null) {
      return false;
    }
    into.label = label;
    into.startedAt = epoch(found.path("timestamp").path("start"));
    into.stoppedAt = epoch(found.path("timestamp").path("stop"));
    into.startLsn = text(found.path("lsn").path("start"));
    into.stopLsn = text(found.path("lsn").path("stop"));
    into.startWal = text(found.path("archive").path("start"));
    into.stopWal = text(found.path("archive").path("stop"));
    into.databaseBytes = found.path("info").path("size").isNumber() ? found.path("info").path("size").asLong() : null;
    JsonNode repo = found.path("info").path("repository");
    into.repositoryBytes = repo.path("delta").isNumber() ? repo.path("delta").asLong() : null;
    into.backupsKept = kept;
    into.oldestBackup = oldest.path("label").asText();
    // A restore reaches a consistent state at the end of the oldest backup at the earliest.
    into.firstRecoverabilityPoint = epoch(oldest.path("timestamp").path("stop"));
    JsonNode archives = stanzaNode.path("archive");
    if (archives.size() > 0) {
      JsonNode current = archives.get(archives.size() - 1);
      into.walArchiveMin = text(current.path("min"));
      into.walArchiveMax = text(current.path("max"));
    }
    return true;
  }

  private static String epoch(JsonNode seconds) {
    return seconds.isNumber() ? Instant.ofEpochSecond(seconds.asLong()).toString() : null;
  }

  private static String text(JsonNode node) {
    return node.isMissingNode() || node.isNull() ? null : node.asText();
  }
}
