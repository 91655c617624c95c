package dev.pgcluster.operator.http;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * /healthz: the process is alive and, while it leads, its event sources (the informers that tell it
 * what changed) are healthy, or have not been unhealthy for longer than {@link #GRACE}. An informer that
 * stopped watching for good leaves a leader blind while it still holds the Lease; the kubelet's restart
 * hands the Lease to a replica that can see. Only the leader is judged (a follower's informers run
 * too, but it acts on nothing they say, and a restart would not make it see better); the grace covers
 * an API server outage, after which the informers resume on their own.
 */
public final class Liveness {
  /** How long the leader's event sources may be unhealthy before /healthz fails. */
  public static final Duration GRACE = Duration.ofSeconds(60);

  /** Whether this replica is alive, and why not. */
  public record Verdict(boolean alive, String reason) {}

  private final BooleanSupplier leading;
  private final Supplier<List<String>> unhealthySources;
  private final Clock clock;
  private Instant unhealthySince;

  /** {@code unhealthySources}: the names of the event sources that are not healthy now (empty: all are). */
  public Liveness(BooleanSupplier leading, Supplier<List<String>> unhealthySources, Clock clock) {
    this.leading = leading;
    this.unhealthySources = unhealthySources;
    this.clock = clock;
  }

  public synchronized Verdict check() {
    List<String> unhealthy = leading.getAsBoolean() ? unhealthySources.get() : List.of();
    if (unhealthy.isEmpty()) {
      unhealthySince = null;
      return new Verdict(true, "ok");
    }
    Instant now = clock.instant();
    if (unhealthySince == null) {
      unhealthySince = now;
    }
    Duration unhealthyFor = Duration.between(unhealthySince, now);
    String why = "event sources unhealthy for " + unhealthyFor.toSeconds() + " s: " + String.join(", ", unhealthy);
    return new Verdict(unhealthyFor.compareTo(GRACE) < 0, why);
  }
}
