package dev.pgcluster.operator.ha;

import dev.pgcluster.operator.api.v1alpha1.InstanceRole;

/** What the decider asks the actuator to do. Each action is idempotent. */
public sealed interface Action {

  /** Project the Lease onto a pod: the Services route by this label. */
  record SetRoleLabel(String pod, InstanceRole role) implements Action {}

  /** The first primary is up: from now on initdb must never run again. */
  record MarkInitialized() implements Action {}

  /** The holder was seen running as primary: renew the Lease. */
  /**
   * The Lease's holderIdentity was changed by someone other than the operator: put back its record
   * ({@code holder}); {@code edited} is what was found.
   */
  record RestoreHolder(String holder, String edited) implements Action {}

  /** The former primary rejoined: record what its rewind discarded (the init container's report). */
  record RecordRewind(String pod, String report) implements Action {}

  /** The holder runs as the primary of its epoch: record when (the status's promotion time). */
  record MarkPromoted() implements Action {}

  /** The primary Lease's duration (the grant the holder's agent renews) follows spec.failover. */
  record SetLeaseDuration(int seconds) implements Action {}

  record CreateSlot(String slot) implements Action {}

  /**
   * The primary failed: the Lease (CAS) names {@code to} as primary at the next epoch, and records
   * {@code from} (pod uid {@code fromUid}) to be fenced. Promotion follows once {@code from} is fenced.
   * {@code switchoverId}: the forced promotion's spec.switchover.id (recorded so it is done once), or null.
   */
  record TransferPrimary(String to, String from, String fromUid, String reason, boolean mayLoseCommits,
      String switchoverId) implements Action {
    public TransferPrimary(String to, String from, String fromUid, String reason, boolean mayLoseCommits) {
      this(to, from, fromUid, reason, mayLoseCommits, null);
    }
  }

  /** Delete the pod of an instance that may act as a primary without holding the Lease. */
  record Fence(String pod, String uid, String reason) implements Action {}

  /**
   * Planned change of primary: the primary goes read-only and its sessions end, {@code target}
   * catches up, then the Lease moves to it and the old primary is fenced. {@code id} is the
   * requested switchover's id (recorded in the Lease so that it is done once), null when the operator
   * plans it itself; {@code why} says which.
   */
  record Switchover(String from, String fromUid, String target, String id, String why) implements Action {}

  /** A standby that cannot follow the primary: restart its pod so that its init container rewinds it. */
  record RestartStandby(String pod, String uid, String reason) implements Action {}

  /** The instance's configuration file holds the rendered configuration: pg_reload_conf() it. */
  record ReloadConfiguration(String pod, String reason) implements Action {}

  /**
   * Delete the pod (gracefully) so that it restarts with settings that need a restart; the primary
   * is only restarted this way when no standby can take over (else it is switched over first).
   */
  record RestartForUpdate(String pod, String uid, String reason) implements Action {}

  /** A standby cut off its upstream for a promotion follows the primary again (-rw). */
  record ReattachStandby(String pod) implements Action {}

  /** The Lease holder runs as a standby and nobody else can write: pg_promote() it. */
  record Promote(String pod, String reason) implements Action {}

  /** ALTER SYSTEM SET each setting on the primary, then reload: no restart. */
  record ApplyPrimarySettings(java.util.Map<String, String> settings, String reason) implements Action {}

  /** Drop a slot whose standby is gone (only done while the slot is inactive). */
  record DropSlot(String slot) implements Action {}
}
