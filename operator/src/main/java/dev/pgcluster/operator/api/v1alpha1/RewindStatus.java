package dev.pgcluster.operator.api.v1alpha1;

/**
 * The realised data loss of a change of primary, measured on the former primary's own data when it
 * rejoined (its init container reads its WAL past the fork point before pg_rewind discards it).
 */
public class RewindStatus {
  /** The instance that was rewound (the former primary). */
  public String instance;
  /** Where the new primary's timeline forked off the former primary's (LSN). */
  public String forkPoint;
  /** The former primary's last WAL record (LSN); empty when it wrote nothing past the fork point. */
  public String lastRecord;
  /** Bytes of WAL the former primary wrote past the fork point, discarded by pg_rewind. */
  public Long bytes;
  /**
   * Transactions the former primary committed past the fork point, discarded by pg_rewind. Under
   * synchronous replication with durability required, none of them was acknowledged to a client.
   */
  public Integer transactions;
  /** Commit time of the first and the last of them. */
  public String firstCommit;
  public String lastCommit;
  /** Where the discarded WAL is kept (on the instance's volume, for 7 days). */
  public String keptIn;

  /** From the init container's report (see bootstrap.sh, report_divergence); null when unreadable. */
  public static RewindStatus fromReport(String instance, String json) {
    try {
      var node = new com.fasterxml.jackson.databind.ObjectMapper().readTree(json);
      RewindStatus r = new RewindStatus();
      r.instance = instance;
      r.forkPoint = text(node, "forkPoint");
      r.lastRecord = text(node, "lastRecord");
      r.bytes = node.path("bytes").asLong();
      r.transactions = node.path("commits").asInt();
      r.firstCommit = text(node, "firstCommit");
      r.lastCommit = text(node, "lastCommit");
      r.keptIn = text(node, "keptIn");
      return r;
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      return null;
    }
  }

  private static String text(com.fasterxml.jackson.databind.JsonNode node, String field) {
    String value = node.path(field).asText("");
    return value.isEmpty() ? null : value;
  }

  /** One line for the event and the log. */
  public String describe() {
    return "pg_rewind discarded " + transactions + " transactions committed on " + instance + " past the fork point "
        + forkPoint + (transactions > 0 ? " (commit times " + firstCommit + " .. " + lastCommit + ")" : "") + ", "
        + bytes + " bytes of WAL" + (lastRecord == null ? "" : " up to " + lastRecord) + "; kept in " + keptIn;
  }
}
