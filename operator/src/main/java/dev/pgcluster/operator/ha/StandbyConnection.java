package dev.pgcluster.operator.ha;

/** One row of the primary's pg_stat_replication. */
public record StandbyConnection(
    String applicationName, String state, String syncState, String replayLsn, Long lagBytes) {}
