package dev.pgcluster.operator.observe;

/**
 * The coarse health of one instance that the poller compares between polls. LSNs are left out on
 * purpose: they change under every write and would trigger a reconcile per poll.
 */
public record InstanceHealth(String pod, boolean reachable, boolean inRecovery, long timeline) {}
