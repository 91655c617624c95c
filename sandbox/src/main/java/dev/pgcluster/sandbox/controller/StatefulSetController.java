package dev.pgcluster.sandbox.controller;

import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaim;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaimBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeBuilder;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.api.model.apps.StatefulSetStatus;
import io.fabric8.kubernetes.api.model.apps.StatefulSetStatusBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiPredicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The StatefulSet controller: pod {@code <name>-<ordinal>} for each ordinal below replicas, a claim per
 * volumeClaimTemplate and ordinal that outlives the pod (claims are never deleted, as with the default
 * retention policy), scale down from the highest ordinal, OnDelete and RollingUpdate strategies, and
 * the status counters. A new pod for an ordinal is created only once the previous one has stopped.
 */
public final class StatefulSetController {
  private static final Logger LOG = LoggerFactory.getLogger(StatefulSetController.class);
  public static final String POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name";
  public static final String POD_INDEX_LABEL = "apps.kubernetes.io/pod-index";
  public static final String REVISION_LABEL = "controller-revision-hash";

  private final KubernetesClient client;
  /** (namespace, pod name) -> a pod of that name still exists on the node, even if deleted in the API. */
  private final BiPredicate<String, String> podStillRunning;

  public StatefulSetController(KubernetesClient client, BiPredicate<String, String> podStillRunning) {
    this.client = client;
    this.podStillRunning = podStillRunning;
  }

  public void sync(List<StatefulSet> sets, List<Pod> pods) {
    for (StatefulSet set : sets) {
      try {
        syncOne(set, pods);
      } catch (KubernetesClientException e) {
        LOG.debug("statefulset {}: {}", set.getMetadata().getName(), e.getMessage());
      }
    }
  }

  private void syncOne(StatefulSet set, List<Pod> allPods) {
    String ns = set.getMetadata().getNamespace();
    String name = set.getMetadata().getName();
    int replicas = set.getSpec().getReplicas() == null ? 1 : set.getSpec().getReplicas();
    String revision = revision(set);
    Map<Integer, Pod> pods = new HashMap<>();
    for (Pod pod : allPods) {
      Integer ordinal = ordinal(set, pod);
      if (ordinal != null) {
        pods.put(ordinal, pod);
      }
    }
    boolean parallel = "Parallel".equals(set.getSpec().getPodManagementPolicy());
    for (int i = 0; i < replicas; i++) {
      if (pods.containsKey(i)) {
        continue;
      }
      if (!parallel && i > 0 && !(pods.containsKey(i - 1) && ready(pods.get(i - 1)))) {
        break;
      }
      String podName = name + "-" + i;
      if (podStillRunning.test(ns, podName)) {
        continue;
      }
      ensureClaims(set, i);
      Pod pod = newPod(set, i, revision);
      client.pods().inNamespace(ns).resource(pod).create();
      pods.put(i, pod);
      LOG.info("statefulset {}/{}: created pod {}", ns, name, podName);
    }
    List<Integer> surplus = pods.keySet().stream().filter(i -> i >= replicas)
        .sorted(Comparator.reverseOrder()).toList();
    for (Integer i : surplus) {
      client.pods().inNamespace(ns).withName(name + "-" + i).delete();
      LOG.info("statefulset {}/{}: scaled down, deleted pod {}-{}", ns, name, name, i);
      if (!parallel) {
        break;
      }
    }
    String strategy = set.getSpec().getUpdateStrategy() == null ? "RollingUpdate"
        : set.getSpec().getUpdateStrategy().getType();
    if ("RollingUpdate".equals(strategy) && surplus.isEmpty()) {
      boolean allReady = pods.values().stream().allMatch(StatefulSetController::ready);
      pods.entrySet().stream()
          .filter(e -> e.getKey() < replicas)
          .filter(e -> !revision.equals(label(e.getValue(), REVISION_LABEL)))
          .max(Map.Entry.comparingByKey())
          .filter(e -> allReady)
          .ifPresent(e -> {
            client.pods().inNamespace(ns).withName(e.getValue().getMetadata().getName()).delete();
            LOG.info("statefulset {}/{}: rolling update, deleted pod {}", ns, name, e.getValue().getMetadata().getName());
          });
    }
    writeStatus(set, pods, replicas, revision);
  }

  private void ensureClaims(StatefulSet set, int ordinal) {
    String ns = set.getMetadata().getNamespace();
    for (PersistentVolumeClaim template : claimTemplates(set)) {
      String claim = claimName(set, template, ordinal);
      if (client.persistentVolumeClaims().inNamespace(ns).withName(claim).get() != null) {
        continue;
      }
      Map<String, String> labels = new LinkedHashMap<>();
      if (template.getMetadata().getLabels() != null) {
        labels.putAll(template.getMetadata().getLabels());
      }
      labels.putAll(set.getSpec().getSelector().getMatchLabels());
      PersistentVolumeClaim pvc = new PersistentVolumeClaimBuilder()
          .withNewMetadata().withName(claim).withNamespace(ns).withLabels(labels).endMetadata()
          .withSpec(template.getSpec())
          .withNewStatus().withPhase("Bound").withAccessModes(template.getSpec().getAccessModes())
          .withCapacity(template.getSpec().getResources().getRequests()).endStatus()
          .build();
      client.persistentVolumeClaims().inNamespace(ns).resource(pvc).create();
      LOG.info("statefulset {}/{}: created claim {}", ns, set.getMetadata().getName(), claim);
    }
  }

  private Pod newPod(StatefulSet set, int ordinal, String revision) {
    String name = set.getMetadata().getName() + "-" + ordinal;
    Map<String, String> labels = new LinkedHashMap<>();
    if (set.getSpec().getTemplate().getMetadata().getLabels() != null) {
      labels.putAll(set.getSpec().getTemplate().getMetadata().getLabels());
    }
    labels.put(POD_NAME_LABEL, name);
    labels.put(POD_INDEX_LABEL, Integer.toString(ordinal));
    labels.put(REVISION_LABEL, revision);
    PodSpec spec = Serialization.clone(set.getSpec().getTemplate().getSpec());
    spec.setHostname(name);
    spec.setSubdomain(set.getSpec().getServiceName());
    spec.setNodeName("sandbox");
    List<Volume> volumes = new ArrayList<>(spec.getVolumes() == null ? List.of() : spec.getVolumes());
    for (PersistentVolumeClaim template : claimTemplates(set)) {
      volumes.add(new VolumeBuilder().withName(template.getMetadata().getName())
          .withNewPersistentVolumeClaim().withClaimName(claimName(set, template, ordinal)).endPersistentVolumeClaim()
          .build());
    }
    spec.setVolumes(volumes);
    return new PodBuilder()
        .withNewMetadata()
        .withName(name)
        .withNamespace(set.getMetadata().getNamespace())
        .withLabels(labels)
        .withAnnotations(set.getSpec().getTemplate().getMetadata().getAnnotations())
        .withOwnerReferences(new OwnerReferenceBuilder().withApiVersion("apps/v1").withKind("StatefulSet")
            .withName(set.getMetadata().getName()).withUid(set.getMetadata().getUid()).withController(true)
            .withBlockOwnerDeletion(true).build())
        .endMetadata()
        .withSpec(spec)
        .build();
  }

  private void writeStatus(StatefulSet set, Map<Integer, Pod> pods, int replicas, String revision) {
    int ready = (int) pods.values().stream().filter(StatefulSetController::ready).count();
    int updated = (int) pods.values().stream().filter(p -> revision.equals(label(p, REVISION_LABEL))).count();
    StatefulSetStatus status = new StatefulSetStatusBuilder()
        .withObservedGeneration(set.getMetadata().getGeneration())
        .withReplicas(pods.size())
        .withReadyReplicas(ready)
        .withAvailableReplicas(ready)
        .withCurrentReplicas(updated)
        .withUpdatedReplicas(updated)
        .withCurrentRevision(revision)
        .withUpdateRevision(revision)
        .build();
    if (status.equals(set.getStatus())) {
      return;
    }
    set.setStatus(status);
    try {
      client.apps().statefulSets().resource(set).updateStatus();
    } catch (KubernetesClientException e) {
      // A newer version exists; the next pass writes the status again.
    }
  }

  private static List<PersistentVolumeClaim> claimTemplates(StatefulSet set) {
    return set.getSpec().getVolumeClaimTemplates() == null ? List.of() : set.getSpec().getVolumeClaimTemplates();
  }

  static String claimName(StatefulSet set, PersistentVolumeClaim template, int ordinal) {
    return template.getMetadata().getName() + "-" + set.getMetadata().getName() + "-" + ordinal;
  }

  private static Integer ordinal(StatefulSet set, Pod pod) {
    if (!set.getMetadata().getNamespace().equals(pod.getMetadata().getNamespace())
        || pod.getMetadata().getOwnerReferences() == null
        || pod.getMetadata().getOwnerReferences().stream().noneMatch(o -> set.getMetadata().getUid().equals(o.getUid()))) {
      return null;
    }
    String prefix = set.getMetadata().getName() + "-";
    String name = pod.getMetadata().getName();
    if (!name.startsWith(prefix) || !name.substring(prefix.length()).matches("\\d+")) {
      return null;
    }
    return Integer.parseInt(name.substring(prefix.length()));
  }

  /** The revision of the pod template, as a short hash (Kubernetes uses ControllerRevision objects). */
  static String revision(StatefulSet set) {
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256")
          .digest(Serialization.asJson(set.getSpec().getTemplate()).getBytes(StandardCharsets.UTF_8));
      return set.getMetadata().getName() + "-" + HexFormat.of().formatHex(digest, 0, 5);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String label(Pod pod, String key) {
    return pod.getMetadata().getLabels() == null ? null : pod.getMetadata().getLabels().get(key);
  }

  static boolean ready(Pod pod) {
    return pod.getStatus() != null && pod.getStatus().getConditions() != null
        && pod.getStatus().getConditions().stream()
            .anyMatch(c -> "Ready".equals(c.getType()) && "True".equals(c.getStatus()));
  }
}
