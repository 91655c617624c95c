package dev.pgcluster.sandbox.kubelet;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.KeyToPath;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A pod's volumes as host directories: emptyDir and projected ConfigMap/Secret/downwardAPI content under
 * the pod's own directory (gone with the pod), PersistentVolumeClaims under the sandbox's volume
 * directory (they outlive pods, as PVs do). ConfigMap and Secret content is refreshed while the pod
 * runs, as the kubelet does.
 */
final class PodVolumes {
  /** A volume that cannot be mounted yet (missing ConfigMap, Secret or claim): the pod waits. */
  static final class NotReady extends Exception {
    NotReady(String message) {
      super(message);
    }
  }

  private final KubernetesClient client;
  private final HostUser user;
  private final Pod pod;
  private final Path podDirectory;
  private final Path claimsDirectory;
  private final Map<String, Path> hostDirectories = new HashMap<>();

  PodVolumes(KubernetesClient client, HostUser user, Pod pod, Path podDirectory, Path claimsDirectory) {
    this.client = client;
    this.user = user;
    this.pod = pod;
    this.podDirectory = podDirectory;
    this.claimsDirectory = claimsDirectory;
  }

  /** Creates or refreshes every volume; throws when one cannot be provided yet. */
  void prepare() throws IOException, NotReady {
    String ns = pod.getMetadata().getNamespace();
    List<Volume> volumes = pod.getSpec().getVolumes() == null ? List.of() : pod.getSpec().getVolumes();
    for (Volume v : volumes) {
      Path dir;
      if (v.getPersistentVolumeClaim() != null) {
        String claim = v.getPersistentVolumeClaim().getClaimName();
        if (client.persistentVolumeClaims().inNamespace(ns).withName(claim).get() == null) {
          throw new NotReady("persistentvolumeclaim \"" + claim + "\" not found");
        }
        dir = claimsDirectory.resolve(ns).resolve(claim);
        if (!Files.isDirectory(dir)) {
          Files.createDirectories(dir);
          user.handOver(dir);
        }
      } else if (v.getEmptyDir() != null) {
        dir = podDirectory.resolve("volumes").resolve(v.getName());
        if (!Files.isDirectory(dir)) {
          Files.createDirectories(dir);
          user.handOver(dir);
        }
      } else if (v.getConfigMap() != null) {
        ConfigMap map = client.configMaps().inNamespace(ns).withName(v.getConfigMap().getName()).get();
        if (map == null && !Boolean.TRUE.equals(v.getConfigMap().getOptional())) {
          throw new NotReady("configmap \"" + v.getConfigMap().getName() + "\" not found");
        }
        dir = projected(v.getName(), map == null ? Map.of() : text(map.getData()), v.getConfigMap().getItems());
      } else if (v.getSecret() != null) {
        Secret secret = client.secrets().inNamespace(ns).withName(v.getSecret().getSecretName()).get();
        if (secret == null && !Boolean.TRUE.equals(v.getSecret().getOptional())) {
          throw new NotReady("secret \"" + v.getSecret().getSecretName() + "\" not found");
        }
        dir = projected(v.getName(), secret == null ? Map.of() : EnvResolver.secretData(secret),
            v.getSecret().getItems());
      } else if (v.getDownwardAPI() != null) {
        Map<String, byte[]> files = new LinkedHashMap<>();
        v.getDownwardAPI().getItems().forEach(item -> files.put(item.getPath(),
            EnvResolver.field(pod, item.getFieldRef().getFieldPath()).getBytes(StandardCharsets.UTF_8)));
        dir = projected(v.getName(), files, null);
      } else {
        throw new NotReady("volume \"" + v.getName() + "\": only persistentVolumeClaim, emptyDir, configMap, "
            + "secret and downwardAPI volumes exist in the sandbox");
      }
      hostDirectories.put(v.getName(), dir);
    }
  }

  /** The container's view: each mountPath (with subPath) to its host directory. */
  PathMapper mapperFor(Container container) throws NotReady {
    Map<String, Path> mounts = new LinkedHashMap<>();
    List<VolumeMount> list = container.getVolumeMounts() == null ? List.of() : container.getVolumeMounts();
    for (VolumeMount m : list) {
      Path host = hostDirectories.get(m.getName());
      if (host == null) {
        throw new NotReady("container " + container.getName() + " mounts unknown volume " + m.getName());
      }
      if (m.getSubPath() != null && !m.getSubPath().isEmpty()) {
        host = host.resolve(m.getSubPath());
      }
      mounts.put(m.getMountPath(), host);
    }
    return new PathMapper(mounts);
  }

  private Path projected(String name, Map<String, byte[]> data, List<KeyToPath> items) throws IOException {
    Path dir = podDirectory.resolve("volumes").resolve(name);
    Files.createDirectories(dir);
    Map<String, byte[]> files = new LinkedHashMap<>();
    if (items == null || items.isEmpty()) {
      files.putAll(data);
    } else {
      for (KeyToPath item : items) {
        if (data.containsKey(item.getKey())) {
          files.put(item.getPath(), data.get(item.getKey()));
        }
      }
    }
    for (var file : files.entrySet()) {
      Path target = dir.resolve(file.getKey());
      if (Files.exists(target) && Arrays.equals(Files.readAllBytes(target), file.getValue())) {
        continue;
      }
      Files.createDirectories(target.getParent());
      Path tmp = target.resolveSibling("." + target.getFileName() + ".tmp");
      Files.write(tmp, file.getValue());
      Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
    try (var existing = Files.list(dir)) {
      for (Path p : existing.toList()) {
        if (Files.isRegularFile(p) && !files.containsKey(p.getFileName().toString())) {
          Files.delete(p);
        }
      }
    }
    user.handOverTree(dir);
    return dir;
  }

  private static Map<String, byte[]> text(Map<String, String> data) {
    Map<String, byte[]> out = new LinkedHashMap<>();
    if (data != null) {
      data.forEach((k, v) -> out.put(k, v.getBytes(StandardCharsets.UTF_8)));
    }
    return out;
  }

}
