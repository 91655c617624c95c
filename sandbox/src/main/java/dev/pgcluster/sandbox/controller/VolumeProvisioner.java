package dev.pgcluster.sandbox.controller;

import io.fabric8.kubernetes.api.model.PersistentVolume;
import io.fabric8.kubernetes.api.model.PersistentVolumeBuilder;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaim;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.storage.StorageClassBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A dynamic volume provisioner, as a CSI driver's external-provisioner is on a real cluster: the default
 * StorageClass {@code sandbox-local} (volume expansion allowed; a class made with this provisioner's name
 * works too), and for each pending claim of such a class a PersistentVolume whose
 * data is the directory {@code volumes/<namespace>/<claim>} (the directory the kubelets mount for it;
 * every node reaches it, as with network storage). The real PV controller binds the two. Volumes are
 * retained when their claim goes: deleting data is never automatic.
 */
public final class VolumeProvisioner {
  private static final Logger LOG = LoggerFactory.getLogger(VolumeProvisioner.class);
  public static final String STORAGE_CLASS = "sandbox-local";
  public static final String PROVISIONER = "sandbox.pgcluster.dev/local";

  private final KubernetesClient client;
  private final Path claimsDirectory;
  private final Set<String> provisioned = new HashSet<>();
  private final java.util.Map<String, Boolean> classes = new java.util.concurrent.ConcurrentHashMap<>();

  public VolumeProvisioner(KubernetesClient client, Path claimsDirectory) {
    this.client = client;
    this.claimsDirectory = claimsDirectory;
    client.storage().v1().storageClasses().resource(new StorageClassBuilder()
        .withNewMetadata().withName(STORAGE_CLASS)
        .addToAnnotations("storageclass.kubernetes.io/is-default-class", "true").endMetadata()
        .withProvisioner(PROVISIONER)
        .withReclaimPolicy("Retain")
        .withVolumeBindingMode("Immediate")
        .withAllowVolumeExpansion(true)
        .build()).create();
  }

  /**
   * Creates a volume for every pending claim of a class of this provisioner that has none yet, and grows
   * the volume of every bound claim that requests more than it has.
   */
  public void sync(List<PersistentVolumeClaim> claims) {
    for (PersistentVolumeClaim claim : claims) {
      String uid = claim.getMetadata().getUid();
      boolean pending = claim.getStatus() == null || "Pending".equals(claim.getStatus().getPhase());
      boolean bound = claim.getSpec().getVolumeName() != null && !claim.getSpec().getVolumeName().isEmpty();
      if (!ours(claim.getSpec().getStorageClassName())) {
        continue;
      }
      if (bound && !pending) {
        grow(claim);
        continue;
      }
      if (!pending || bound || provisioned.contains(uid)) {
        continue;
      }
      String ns = claim.getMetadata().getNamespace();
      String name = claim.getMetadata().getName();
      PersistentVolume volume = new PersistentVolumeBuilder()
          .withNewMetadata().withName("pvc-" + uid)
          .addToAnnotations("pv.kubernetes.io/provisioned-by", PROVISIONER).endMetadata()
          .withNewSpec()
          .withCapacity(claim.getSpec().getResources().getRequests())
          .withAccessModes(claim.getSpec().getAccessModes())
          .withStorageClassName(claim.getSpec().getStorageClassName())
          .withPersistentVolumeReclaimPolicy("Retain")
          .withVolumeMode(claim.getSpec().getVolumeMode())
          .withNewHostPath().withPath(claimsDirectory.resolve(ns).resolve(name).toString())
          .withType("DirectoryOrCreate").endHostPath()
          .withNewClaimRef().withNamespace(ns).withName(name).withUid(uid).withKind("PersistentVolumeClaim")
          .withApiVersion("v1").endClaimRef()
          .endSpec().build();
      try {
        client.persistentVolumes().resource(volume).create();
        LOG.info("provisioned volume pvc-{} for claim {}/{}", uid, ns, name);
      } catch (KubernetesClientException e) {
        if (e.getCode() != 409) {
          LOG.warn("cannot provision a volume for claim {}/{}: {}", ns, name, e.getMessage());
          continue;
        }
      }
      provisioned.add(uid);
    }
  }

  /** Whether claims of this class are this provisioner's (the default class, or another naming it). */
  private boolean ours(String storageClass) {
    if (storageClass == null) {
      return false;
    }
    Boolean known = classes.get(storageClass);
    if (known == null) {
      var found = client.storage().v1().storageClasses().withName(storageClass).get();
      if (found == null) {
        return false;  // not made yet: asked again next time
      }
      known = PROVISIONER.equals(found.getProvisioner());
      classes.put(storageClass, known);
    }
    return known;
  }

  /**
   * As a CSI driver's external-resizer and the kubelet's file system resize do: a bound claim that
   * requests more than its volume has (the API server let the request grow, so its class allows it)
   * gets it, first in the PersistentVolume's capacity, then in the claim's status. The volume is a
   * directory: there is no file system to grow, only the sizes to record.
   */
  private void grow(PersistentVolumeClaim claim) {
    var requested = claim.getSpec().getResources() == null || claim.getSpec().getResources().getRequests() == null
        ? null : claim.getSpec().getResources().getRequests().get("storage");
    var capacity = claim.getStatus().getCapacity() == null ? null : claim.getStatus().getCapacity().get("storage");
    if (requested == null || capacity == null
        || Quantity.getAmountInBytes(requested).compareTo(Quantity.getAmountInBytes(capacity)) <= 0) {
      return;
    }
    String ns = claim.getMetadata().getNamespace();
    String name = claim.getMetadata().getName();
    try {
      client.persistentVolumes().withName(claim.getSpec().getVolumeName()).edit(volume -> {
        volume.getSpec().getCapacity().put("storage", requested);
        return volume;
      });
      claim.getStatus().getCapacity().put("storage", requested);
      client.persistentVolumeClaims().inNamespace(ns).resource(claim).updateStatus();
      LOG.info("grew the volume of claim {}/{} from {} to {}", ns, name, capacity, requested);
    } catch (KubernetesClientException e) {
      LOG.info("cannot grow the volume of claim {}/{} yet: {}", ns, name, e.getMessage());
    }
  }
}
