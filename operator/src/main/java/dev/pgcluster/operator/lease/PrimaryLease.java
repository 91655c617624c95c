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
    return new PrimaryRecord(lease.getSpec().getHolderIdentity(), transitions == null ? 0 : transitions,
        initialized, lease.getMetadata().getResourceVersion());
  }
}
