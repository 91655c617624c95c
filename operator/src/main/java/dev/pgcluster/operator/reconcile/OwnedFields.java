package dev.pgcluster.operator.reconcile;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;

/**
 * Which fields of each kind the operator owns, for {@link ResourceApplier#apply}. A StatefulSet's
 * volumeClaimTemplates and selector are immutable in Kubernetes and are only set at creation.
 */
public final class OwnedFields {

  private OwnedFields() {}

  public static void configMap(ConfigMap live, ConfigMap desired) {
    live.setData(desired.getData());
  }

  public static void service(Service live, Service desired) {
    live.getSpec().setSelector(desired.getSpec().getSelector());
    live.getSpec().setPorts(desired.getSpec().getPorts());
    live.getSpec().setPublishNotReadyAddresses(desired.getSpec().getPublishNotReadyAddresses());
    if (desired.getSpec().getType() != null) {
      live.getSpec().setType(desired.getSpec().getType());
    }
  }

  public static void statefulSet(StatefulSet live, StatefulSet desired) {
    live.getSpec().setReplicas(desired.getSpec().getReplicas());
    live.getSpec().setTemplate(desired.getSpec().getTemplate());
    live.getSpec().setUpdateStrategy(desired.getSpec().getUpdateStrategy());
  }

  public static void deployment(io.fabric8.kubernetes.api.model.apps.Deployment live,
      io.fabric8.kubernetes.api.model.apps.Deployment desired) {
    live.getSpec().setReplicas(desired.getSpec().getReplicas());
    live.getSpec().setTemplate(desired.getSpec().getTemplate());
    live.getSpec().setStrategy(desired.getSpec().getStrategy());
  }

  public static void podDisruptionBudget(PodDisruptionBudget live, PodDisruptionBudget desired) {
    live.getSpec().setMaxUnavailable(desired.getSpec().getMaxUnavailable());
    live.getSpec().setSelector(desired.getSpec().getSelector());
  }
}
