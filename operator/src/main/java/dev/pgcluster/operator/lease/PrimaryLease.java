package dev.pgcluster.operator.lease;

import dev.pgcluster.operator.ha.PrimaryRecord;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Clock;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.HashMap;
import java.util.Optional;

/**
 * The per-cluster Lease that records the primary. Every write is a compare-and-swap on the
 * resourceVersion read before, so two writers (two operator replicas, later a pod agent) cannot
 * both move it: the loser gets a 409 and re-reads. Kept free of operator types so that a future
 * in-pod agent can use it too.
 */
public final class PrimaryLease {
  /** Set once the first primary completed initdb; never cleared. */
  public static final String INITIALIZED_ANNOTATION = "pgcluster.dev/initialized";
  /** The former primary whose pod must be gone before the holder is promoted. */
  public static final String FENCE_POD_ANNOTATION = "pgcluster.dev/fence-pod";
  public static final String FENCE_UID_ANNOTATION = "pgcluster.dev/fence-uid";
  /** Why the holder last changed, for people reading the Lease. */
  public static final String LAST_CHANGE_ANNOTATION = "pgcluster.dev/last-change";
  /** When the holder of this epoch was promoted (RFC 3339), for the status's step durations. */
  public static final String PROMOTED_AT_ANNOTATION = "pgcluster.dev/promoted-at";
  /**
   * The holder as the operator wrote it (with every create and transfer). The record: a holderIdentity
   * changed by anyone else is ignored and put back (see restoreHolder).
   */
  public static final String HOLDER_ANNOTATION = "pgcluster.dev/holder";
  /** "true" when the former primary was made read-only by the operator before the Lease moved. */
  public static final String FORMER_READ_ONLY_ANNOTATION = "pgcluster.dev/former-read-only";
  /** The holder of this epoch was named by a forced promotion (spec.switchover with force). */
  public static final String FORCED_ANNOTATION = "pgcluster.dev/forced";
  /** What the former primary's rejoin discarded (its init container's report), for this epoch. */
  public static final String REWIND_ANNOTATION = "pgcluster.dev/rewind";
  /** The id of the last switchover carried out, so that each is done once. */
  public static final String SWITCHOVER_ID_ANNOTATION = "pgcluster.dev/switchover-id";

  private final KubernetesClient client;
  private final Clock clock;

  public PrimaryLease(KubernetesClient client, Clock clock) {
    this.client = client;
    this.clock = clock;
  }

  public Optional<PrimaryRecord> read(String namespace, String name) {
    return Optional.ofNullable(client.leases().inNamespace(namespace).withName(name).get()).map(PrimaryLease::toRecord);
  }

  /** Creates the Lease naming the first primary at epoch 0; fails with 409 if it already exists. */
  public PrimaryRecord create(String namespace, String name, String holder, int durationSeconds,
      java.util.Map<String, String> labels) {
    return create(namespace, name, holder, 0, false, durationSeconds, labels, null);
  }

  /**
   * Creates the Lease again from what the instances report (it was deleted while they hold data):
   * {@code holder} at {@code epoch}, initialized. Fails with 409 if it exists meanwhile.
   */
  public PrimaryRecord rebuild(String namespace, String name, String holder, int epoch, int durationSeconds,
      java.util.Map<String, String> labels, String why) {
    return create(namespace, name, holder, epoch, true, durationSeconds, labels, why);
  }

  /*
   * Not owned by the PgCluster: like the volumes, the record of who holds the data survives the
   * resource's deletion, so that applying it again finds the same primary (see docs/api.md).
   */
  private PrimaryRecord create(String namespace, String name, String holder, int epoch, boolean initialized,
      int durationSeconds, java.util.Map<String, String> labels, String why) {
    ZonedDateTime now = now();
    java.util.Map<String, String> annotations = new HashMap<>();
    annotations.put(HOLDER_ANNOTATION, holder);
    if (initialized) {
      annotations.put(INITIALIZED_ANNOTATION, "true");
    }
    if (why != null) {
      annotations.put(LAST_CHANGE_ANNOTATION, why);
    }
    Lease lease = new LeaseBuilder()
        .withNewMetadata().withName(name).withNamespace(namespace).withLabels(labels).withAnnotations(annotations)
        .endMetadata()
        .withNewSpec()
        .withHolderIdentity(holder)
        .withLeaseTransitions(epoch)
        .withLeaseDurationSeconds(durationSeconds)
        .withAcquireTime(now)
        .withRenewTime(now)
        .endSpec()
        .build();
    return toRecord(client.leases().inNamespace(namespace).resource(lease).create());
  }

  /**
   * Someone else changed holderIdentity: put back the holder the operator recorded. CAS on
   * {@code expected}.
   */
  public PrimaryRecord restoreHolder(String namespace, String name, PrimaryRecord expected) {
    Lease lease = client.leases().inNamespace(namespace).withName(name).get();
    requireVersion(lease, expected);
    lease.getSpec().setHolderIdentity(expected.holder());
    return toRecord(client.leases().inNamespace(namespace).resource(lease).update());
  }

  /**
   * Records that the cluster has been initialized, as long as the holder and epoch are still those of
   * {@code expected} (the holder's agent renews the Lease meanwhile: its renewals are not a conflict).
   */
  public PrimaryRecord markInitialized(String namespace, String name, PrimaryRecord expected) {
    return annotate(namespace, name, expected, INITIALIZED_ANNOTATION, "true", false);
  }

  /**
   * The holder's agent proves it is alive and primary: renewTime moves forward. CAS on {@code expected},
   * and only while {@code holder} still holds the Lease.
   */
  /** The Lease as stored, for a holder that renews from the copy its last request returned. */
  public Optional<Lease> readLease(String namespace, String name) {
    return Optional.ofNullable(client.leases().inNamespace(namespace).withName(name).get());
  }

  /**
   * The holder's renewal, from the Lease as its last read or renewal returned it: one request, a
   * compare-and-swap on that copy's resourceVersion (409 when anyone wrote the Lease since). Returns
   * the Lease as stored now, the copy for the next renewal.
   */
  public Lease renewAsHolder(Lease last, String holder) {
    if (!holder.equals(last.getSpec().getHolderIdentity())) {
      throw new LeaseConflictException("the primary Lease names " + last.getSpec().getHolderIdentity() + ", not "
          + holder);
    }
    Lease next = new LeaseBuilder(last)
        .editSpec().withRenewTime(now()).endSpec().build();
    return client.leases().inNamespace(last.getMetadata().getNamespace()).resource(next).update();
  }

  /** The grant's length follows the spec. CAS on {@code expected}. */
  public PrimaryRecord setDuration(String namespace, String name, PrimaryRecord expected, int durationSeconds) {
    Lease lease = client.leases().inNamespace(namespace).withName(name).get();
    requireVersion(lease, expected);
    lease.getSpec().setLeaseDurationSeconds(durationSeconds);
    return toRecord(client.leases().inNamespace(namespace).resource(lease).update());
  }

  /**
   * The change of primary: CAS on {@code expected}; the holder becomes {@code to}, transitions (the
   * epoch) grows by one, and the former primary's pod is recorded for fencing.
   */
  public PrimaryRecord transfer(String namespace, String name, PrimaryRecord expected, String to, String fencePod,
      String fenceUid, String reason) {
    return transfer(namespace, name, expected, to, fencePod, fenceUid, reason, null, false);
  }

  /**
   * As above; a switchover also records its id, and that the former primary was made read-only first
   * ({@code formerReadOnly}).
   */
  public PrimaryRecord transfer(String namespace, String name, PrimaryRecord expected, String to, String fencePod,
      String fenceUid, String reason, String switchoverId, boolean formerReadOnly) {
    return transfer(namespace, name, expected, to, fencePod, fenceUid, reason, switchoverId, formerReadOnly, false);
  }

  /** As above; {@code forced}: a forced promotion's move (spec.switchover with force), recorded for this epoch. */
  public PrimaryRecord transfer(String namespace, String name, PrimaryRecord expected, String to, String fencePod,
      String fenceUid, String reason, String switchoverId, boolean formerReadOnly, boolean forced) {
    Lease lease = client.leases().inNamespace(namespace).withName(name).get();
    requireVersion(lease, expected);
    ZonedDateTime now = now();
    lease.getSpec().setHolderIdentity(to);
    lease.getSpec().setLeaseTransitions(expected.epoch() + 1);
    if (lease.getMetadata().getAnnotations() == null) {
      lease.getMetadata().setAnnotations(new HashMap<>());
    }
    lease.getMetadata().getAnnotations().put(HOLDER_ANNOTATION, to);
    lease.getSpec().setAcquireTime(now);
    lease.getSpec().setRenewTime(now);
    if (lease.getMetadata().getAnnotations() == null) {
      lease.getMetadata().setAnnotations(new HashMap<>());
    }
    var annotations = lease.getMetadata().getAnnotations();
    annotations.put(FENCE_POD_ANNOTATION, fencePod == null ? "" : fencePod);
    annotations.put(FENCE_UID_ANNOTATION, fenceUid == null ? "" : fenceUid);
    annotations.put(LAST_CHANGE_ANNOTATION, reason);
    annotations.remove(PROMOTED_AT_ANNOTATION);
    annotations.remove(REWIND_ANNOTATION);
    annotations.put(FORMER_READ_ONLY_ANNOTATION, Boolean.toString(formerReadOnly));
    annotations.put(FORCED_ANNOTATION, Boolean.toString(forced));
    if (switchoverId != null) {
      annotations.put(SWITCHOVER_ID_ANNOTATION, switchoverId);
    }
    return toRecord(client.leases().inNamespace(namespace).resource(lease).update());
  }

  /**
   * Records that the holder now accepts writes (same condition as {@link #markInitialized}), and starts
   * its grant: renewTime moves to now, so that the new primary has a whole lease for its agent's first
   * renewal (the time spent waiting for the former primary's grant is not counted against it).
   */
  public PrimaryRecord markPromoted(String namespace, String name, PrimaryRecord expected) {
    return annotate(namespace, name, expected, PROMOTED_AT_ANNOTATION, now().toInstant().toString(), true);
  }

  /** Records what the former primary's rejoin discarded (same condition as {@link #markInitialized}). */
  public PrimaryRecord recordRewind(String namespace, String name, PrimaryRecord expected, String report) {
    return annotate(namespace, name, expected, REWIND_ANNOTATION, report, false);
  }

  /** Sets one annotation while holder and epoch stay those of {@code expected}; retried over renewals. */
  private PrimaryRecord annotate(String namespace, String name, PrimaryRecord expected, String key, String value,
      boolean renew) {
    for (int attempt = 1; ; attempt++) {
      Lease lease = client.leases().inNamespace(namespace).withName(name).get();
      PrimaryRecord current = lease == null ? null : toRecord(lease);
      if (current == null || !current.holder().equals(expected.holder()) || current.epoch() != expected.epoch()) {
        throw new LeaseConflictException("primary Lease moved on (expected " + expected.holder() + " at epoch "
            + expected.epoch() + ")");
      }
      if (lease.getMetadata().getAnnotations() == null) {
        lease.getMetadata().setAnnotations(new HashMap<>());
      }
      lease.getMetadata().getAnnotations().put(key, value);
      if (renew) {
        lease.getSpec().setRenewTime(now());
      }
      try {
        return toRecord(client.leases().inNamespace(namespace).resource(lease).update());
      } catch (io.fabric8.kubernetes.client.KubernetesClientException e) {
        if (e.getCode() != 409 || attempt >= 5) {
          throw e;
        }
      }
    }
  }

  private static void requireVersion(Lease lease, PrimaryRecord expected) {
    if (lease == null || !lease.getMetadata().getResourceVersion().equals(expected.resourceVersion())) {
      throw new LeaseConflictException("primary Lease changed since it was read (expected resourceVersion "
          + expected.resourceVersion() + ")");
    }
  }

  private ZonedDateTime now() {
    return ZonedDateTime.now(clock).withZoneSameInstant(ZoneOffset.UTC);
  }

  /** The record a primary Lease holds (as read, with its resourceVersion). */
  public static PrimaryRecord toRecord(Lease lease) {
    var annotations = lease.getMetadata().getAnnotations();
    boolean initialized = annotations != null && "true".equals(annotations.get(INITIALIZED_ANNOTATION));
    Integer transitions = lease.getSpec().getLeaseTransitions();
    String fencePod = annotations == null ? null : emptyToNull(annotations.get(FENCE_POD_ANNOTATION));
    String fenceUid = annotations == null ? null : emptyToNull(annotations.get(FENCE_UID_ANNOTATION));
    String recorded = annotations == null ? null : emptyToNull(annotations.get(HOLDER_ANNOTATION));
    String holderIdentity = lease.getSpec().getHolderIdentity() == null ? "" : lease.getSpec().getHolderIdentity();
    return new PrimaryRecord(recorded != null ? recorded : holderIdentity, transitions == null ? 0 : transitions,
        initialized, lease.getMetadata().getResourceVersion(), fencePod, fenceUid,
        lease.getSpec().getAcquireTime() == null ? null : lease.getSpec().getAcquireTime().toInstant(),
        annotations == null ? null : annotations.get(LAST_CHANGE_ANNOTATION),
        annotations == null ? null : annotations.get(SWITCHOVER_ID_ANNOTATION),
        annotations == null || annotations.get(PROMOTED_AT_ANNOTATION) == null ? null
            : java.time.Instant.parse(annotations.get(PROMOTED_AT_ANNOTATION)),
        lease.getSpec().getRenewTime() == null ? null : lease.getSpec().getRenewTime().toInstant(),
        lease.getSpec().getLeaseDurationSeconds() == null ? PrimaryRecord.DEFAULT_LEASE_DURATION_SECONDS
            : lease.getSpec().getLeaseDurationSeconds(),
        annotations != null && "true".equals(annotations.get(FORMER_READ_ONLY_ANNOTATION)),
        annotations == null ? null : annotations.get(REWIND_ANNOTATION),
        recorded != null && !recorded.equals(holderIdentity) ? holderIdentity : null,
        annotations != null && "true".equals(annotations.get(FORCED_ANNOTATION)));
  }

  private static String emptyToNull(String value) {
    return value == null || value.isEmpty() ? null : value;
  }
}
