package dev.pgcluster.sandbox.controller;

import io.fabric8.kubernetes.api.model.PersistentVolume;
import io.fabric8.kubernetes.api.model.PersistentVolumeBuilder;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaim;
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
 * StorageClass {@code sandbox-local}, and for each pending claim of that class a PersistentVolume whose
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

  /** Creates a volume for every pending claim of the sandbox's class that has none yet. */
  public void sync(List<PersistentVolumeClaim> claims) {
    for (PersistentVolumeClaim claim : claims) {
      String uid = claim.getMetadata().getUid();
      boolean pending = claim.getStatus() == null || "Pending".equals(claim.getStatus().getPhase());
      boolean bound = claim.getSpec().getVolumeName() != null && !claim.getSpec().getVolumeName().isEmpty();
      if (!pending || bound || !STORAGE_CLASS.equals(claim.getSpec().getStorageClassName())
          || provisioned.contains(uid)) {
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
          .withStorageClassName(STORAGE_CLASS)
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
}
