package dev.pgcluster.operator.lease;

import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Clock;
import java.time.ZonedDateTime;
import java.time.ZoneOffset;
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
  public PrimaryRecord create(String namespace, String name, String holder, int durationSeconds, OwnerReference owner) {
    ZonedDateTime now = now();
    Lease lease = new LeaseBuilder()
        .withNewMetadata().withName(name).withNamespace(namespace).withOwnerReferences(owner).endMetadata()
        .withNewSpec()
        .withHolderIdentity(holder)
        .withLeaseTransitions(0)
        .withLeaseDurationSeconds(durationSeconds)
        .withAcquireTime(now)
        .withRenewTime(now)
        .endSpec()
        .build();
    return toRecord(client.leases().inNamespace(namespace).resource(lease).create());
  }

  /** Records that the cluster has been initialized. CAS on {@code expected}. */
  public PrimaryRecord markInitialized(String namespace, String name, PrimaryRecord expected) {
    Lease lease = client.leases().inNamespace(namespace).withName(name).get();
    requireVersion(lease, expected);
    if (lease.getMetadata().getAnnotations() == null) {
      lease.getMetadata().setAnnotations(new HashMap<>());
    }
    lease.getMetadata().getAnnotations().put(INITIALIZED_ANNOTATION, "true");
    return toRecord(client.leases().inNamespace(namespace).resource(lease).update());
  }

  /** The holder was seen healthy: move renewTime forward. CAS on {@code expected}. */
  public PrimaryRecord renew(String namespace, String name, PrimaryRecord expected, int durationSeconds) {
    Lease lease = client.leases().inNamespace(namespace).withName(name).get();
    requireVersion(lease, expected);
    lease.getSpec().setRenewTime(now());
    lease.getSpec().setLeaseDurationSeconds(durationSeconds);
    return toRecord(client.leases().inNamespace(namespace).resource(lease).update());
  }

  /**
   * The change of primary: CAS on {@code expected}; the holder becomes {@code to}, transitions (the
   * epoch) grows by one, and the former primary's pod is recorded for fencing.
   */
  public PrimaryRecord transfer(String namespace, String name, PrimaryRecord expected, String to, String fencePod,
      String fenceUid, String reason) {
    return transfer(namespace, name, expected, to, fencePod, fenceUid, reason, null);
  }

  /** As above; a switchover also records its id. */
  public PrimaryRecord transfer(String namespace, String name, PrimaryRecord expected, String to, String fencePod,
      String fenceUid, String reason, String switchoverId) {
    Lease lease = client.leases().inNamespace(namespace).withName(name).get();
    requireVersion(lease, expected);
    ZonedDateTime now = now();
    lease.getSpec().setHolderIdentity(to);
    lease.getSpec().setLeaseTransitions(expected.epoch() + 1);
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
    if (switchoverId != null) {
      annotations.put(SWITCHOVER_ID_ANNOTATION, switchoverId);
    }
    return toRecord(client.leases().inNamespace(namespace).resource(lease).update());
  }

  /** Records that the holder now accepts writes. CAS on {@code expected}. */
  public PrimaryRecord markPromoted(String namespace, String name, PrimaryRecord expected) {
    Lease lease = client.leases().inNamespace(namespace).withName(name).get();
    requireVersion(lease, expected);
    lease.getMetadata().getAnnotations().put(PROMOTED_AT_ANNOTATION, now().toInstant().toString());
    return toRecord(client.leases().inNamespace(namespace).resource(lease).update());
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

  static PrimaryRecord toRecord(Lease lease) {
    var annotations = lease.getMetadata().getAnnotations();
    boolean initialized = annotations != null && "true".equals(annotations.get(INITIALIZED_ANNOTATION));
    Integer transitions = lease.getSpec().getLeaseTransitions();
    String fencePod = annotations == null ? null : emptyToNull(annotations.get(FENCE_POD_ANNOTATION));
    String fenceUid = annotations == null ? null : emptyToNull(annotations.get(FENCE_UID_ANNOTATION));
    return new PrimaryRecord(lease.getSpec().getHolderIdentity(), transitions == null ? 0 : transitions,
        initialized, lease.getMetadata().getResourceVersion(), fencePod, fenceUid,
        lease.getSpec().getAcquireTime() == null ? null : lease.getSpec().getAcquireTime().toInstant(),
        annotations == null ? null : annotations.get(LAST_CHANGE_ANNOTATION),
        annotations == null ? null : annotations.get(SWITCHOVER_ID_ANNOTATION),
        annotations == null || annotations.get(PROMOTED_AT_ANNOTATION) == null ? null
            : java.time.Instant.parse(annotations.get(PROMOTED_AT_ANNOTATION)));
  }

  private static String emptyToNull(String value) {
    return value == null || value.isEmpty() ? null : value;
  }
}
