package dev.pgcluster.operator.lease;

/**
 * The primary Lease as a value: who is primary, in which epoch, and whether the cluster was ever
 * initialized. {@code resourceVersion} is what a compare-and-swap must match.
 */
public record PrimaryRecord(String holder, int epoch, boolean initialized, String resourceVersion) {}
