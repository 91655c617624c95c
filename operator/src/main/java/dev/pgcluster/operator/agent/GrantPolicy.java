package dev.pgcluster.operator.agent;

import dev.pgcluster.operator.ha.GrantTimes;
import java.time.Duration;
import java.util.Optional;

/**
 * Pure: what the agent beside one PostgreSQL does after a round of renewing its grant. The rule is
 * simple on purpose: a primary takes writes only while it holds the primary Lease and has renewed it
 * within {@code fenceAfter}; otherwise it is made read-only and its sessions are ended. Its own fence
 * is lifted only once it holds and has renewed the Lease again.
 */
public final class GrantPolicy {

  /**
   * The reason in the fence marker of a primary that has just started: run.sh starts every primary
   * fenced, and its agent's first renewal lifts it.
   */
  public static final String STARTING = "starting: the agent has not renewed the primary Lease yet";

  /** What the agent saw of its own PostgreSQL this round. */
  public enum Role { PRIMARY, STANDBY, DOWN }

  /**
   * @param role primary (not in recovery), standby, or not answering
   * @param fenced the agent's fence marker is set (by this agent or an earlier one)
   * @param readOnly default_transaction_read_only is on
   */
  public record Local(Role role, boolean fenced, boolean readOnly) {}

  public sealed interface Step {}

  /** Nothing to change. */
  public record Keep() implements Step {}

  /** Make it refuse writes and end every client session. {@code reason} is logged and kept in the marker. */
  public record Fence(String reason) implements Step {}

  /** The grant is held and fresh again: take writes again. */
  public record Unfence() implements Step {}

  private GrantPolicy() {}

  /**
   * @param holder who the primary Lease named when read this round; empty when it could not be read
   * @param me this pod
   * @param sinceRenewed since the start of this agent's last successful renewal; empty when it has
   *     not renewed since it started (it cannot know about renewals of an earlier run)
   */
  public static Step decide(Optional<String> holder, String me, Local local, Optional<Duration> sinceRenewed,
      Duration lease) {
    if (local.role() != Role.PRIMARY) {
      return new Keep();  // a standby takes no writes; a stopped server takes none either
    }
    if (holder.isPresent() && !holder.get().equals(me)) {
      return alreadyFenced(local) ? new Keep()
          : new Fence("the primary Lease names " + holder.get() + ", not " + me);
    }
    Duration fenceAfter = GrantTimes.fenceAfter(lease);
    if (sinceRenewed.isEmpty() || sinceRenewed.get().compareTo(fenceAfter) >= 0) {
      return alreadyFenced(local) ? new Keep() : new Fence(sinceRenewed.isEmpty()
          ? "the primary Lease has not been renewed since this agent started"
          : "the primary Lease could not be renewed for " + sinceRenewed.get().toMillis() + " ms (fencing at "
              + fenceAfter.toMillis() + " ms of a " + lease.toMillis() + " ms lease)");
    }
    if (holder.isPresent() && local.fenced()) {
      return new Unfence();
    }
    return new Keep();
  }

  private static boolean alreadyFenced(Local local) {
    return local.fenced() && local.readOnly();
  }
}
