package dev.pgcluster.sandbox.controller;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Background cascading deletion: an object whose owners are all gone is deleted, as the Kubernetes
 * garbage collector does. PersistentVolumeClaims made by the StatefulSet controller have no owner and
 * stay, so data survives the deletion of a cluster until someone deletes the claims on purpose.
 */
public final class GarbageCollector {
  private static final Logger LOG = LoggerFactory.getLogger(GarbageCollector.class);
  private final KubernetesClient client;

  public GarbageCollector(KubernetesClient client) {
    this.client = client;
  }

  /** {@code liveUids}: every object that exists now; {@code dependents}: objects that may have owners. */
  public void collect(Set<String> liveUids, List<? extends HasMetadata> dependents) {
    for (HasMetadata object : dependents) {
      List<OwnerReference> owners = object.getMetadata().getOwnerReferences();
      if (owners == null || owners.isEmpty() || owners.stream().anyMatch(o -> liveUids.contains(o.getUid()))) {
        continue;
      }
      try {
        client.resource(object).delete();
        LOG.info("garbage collector: deleted {} {}/{}: its owner {} {} is gone", object.getKind(),
            object.getMetadata().getNamespace(), object.getMetadata().getName(), owners.get(0).getKind(),
            owners.get(0).getName());
      } catch (KubernetesClientException e) {
        LOG.debug("garbage collector: {}", e.getMessage());
      }
    }
  }
}
