package dev.pgcluster.operator.ha;

import java.time.Duration;
import java.time.Instant;

/**
 * The primary's WAL archiving, from pg_stat_archiver: what reached the store last, what failed last,
 * how much WAL waits, and the archive command's last error. {@code failingFor} is how long the latest
 * outcome has been a failure, as the reconciler has watched it (zero when archiving works).
 */
public record ArchiveFacts(
    boolean enabled, long archivedCount, String lastArchivedWal, Instant lastArchivedAt, long failedCount,
    String lastFailedWal, Instant lastFailedAt, long waitingSegments, String lastError, Duration failingFor) {

  public static final ArchiveFacts NONE = new ArchiveFacts(false, 0, null, null, 0, null, null, 0, null, Duration.ZERO);

  /** The latest attempt failed: nothing has reached the store since the last failure. */
  public boolean failing() {
    return enabled && lastFailedAt != null && (lastArchivedAt == null || lastFailedAt.isAfter(lastArchivedAt));
  }

  public ArchiveFacts withFailingFor(Duration failing) {
    return new ArchiveFacts(enabled, archivedCount, lastArchivedWal, lastArchivedAt, failedCount, lastFailedWal,
        lastFailedAt, waitingSegments, lastError, failing);
  }
}
