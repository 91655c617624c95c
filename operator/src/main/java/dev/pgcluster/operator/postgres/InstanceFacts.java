package dev.pgcluster.operator.postgres;

/**
 * What one SQL probe of an instance returned. For a primary {@code receivedLsn} is its current WAL
 * position; for a standby the last received LSN.
 */
public record InstanceFacts(
    boolean inRecovery, long timeline, String receivedLsn, String replayedLsn, Double replayLagSeconds) {}
