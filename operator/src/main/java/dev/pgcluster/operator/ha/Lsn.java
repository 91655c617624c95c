package dev.pgcluster.operator.ha;

/** PostgreSQL LSNs ("16/B374D848") as comparable numbers. */
public final class Lsn {
  private Lsn() {}

  /** The LSN as an unsigned 64-bit position; -1 for null or unparsable (ranks last). */
  public static long parse(String lsn) {
    if (lsn == null) {
      return -1;
    }
    int slash = lsn.indexOf('/');
    if (slash < 0) {
      return -1;
    }
    try {
      return (Long.parseLong(lsn.substring(0, slash), 16) << 32) | Long.parseLong(lsn.substring(slash + 1), 16);
    } catch (NumberFormatException e) {
      return -1;
    }
  }
}
